import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CreditsModule } from '../credits/credits.module';
import { AuthGuard } from './auth.guard';
import { TokenService } from './token.service';

@Module({
  imports: [CreditsModule],
  providers: [TokenService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [TokenService],
})
export class AuthModule {}
