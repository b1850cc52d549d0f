import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { CreditsModule } from '../credits/credits.module';
import { AuthGuard } from './auth.guard';
import { SlidingWindowStorage } from './rate-limit.storage';
import { ACCOUNT_THROTTLER, AccountRateLimitGuard, IP_THROTTLER, IpRateLimitGuard } from './rate-limit.guard';
import { TokenService } from './token.service';

const MINUTE = 60_000;

@Module({
  imports: [
    CreditsModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        storage: new SlidingWindowStorage(),
        throttlers: [
          { name: IP_THROTTLER, ttl: MINUTE, limit: config.RATE_LIMIT_IP_PER_MINUTE },
          { name: ACCOUNT_THROTTLER, ttl: MINUTE, limit: config.RATE_LIMIT_ACCOUNT_PER_MINUTE },
        ],
      }),
    }),
  ],
  providers: [
    TokenService,
    // In this order: every request counts against its IP, also one with a bad token; then the account is known.
    { provide: APP_GUARD, useClass: IpRateLimitGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: AccountRateLimitGuard },
  ],
  exports: [TokenService],
})
export class AuthModule {}
