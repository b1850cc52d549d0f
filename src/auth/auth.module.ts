import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { CreditsModule } from '../credits/credits.module';
import { AuthGuard } from './auth.guard';
import { ACCOUNT_THROTTLER, IP_THROTTLER, RateLimitGuard } from './rate-limit.guard';
import { TokenService } from './token.service';

const MINUTE = 60_000;

@Module({
  imports: [
    CreditsModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        throttlers: [
          { name: IP_THROTTLER, ttl: MINUTE, limit: config.RATE_LIMIT_IP_PER_MINUTE },
          { name: ACCOUNT_THROTTLER, ttl: MINUTE, limit: config.RATE_LIMIT_ACCOUNT_PER_MINUTE },
        ],
      }),
    }),
  ],
  providers: [
    TokenService,
    // In this order: the rate limits need to know the account.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [TokenService],
})
export class AuthModule {}
