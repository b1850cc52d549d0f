import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CreditsModule } from '../credits/credits.module';
import { PlansModule } from '../plans/plans.module';
import { UsageModule } from '../usage/usage.module';
import { BillingResolver } from './billing.resolver';
import { CreditPurchaseEntity } from './entities/credit-purchase.entity';
import { LegacyCreditsController } from './legacy-credits.controller';
import { PurchasesService } from './purchases.service';
import { RenewalScheduler } from './renewal.scheduler';
import { RenewalService } from './renewal.service';
import { stripeClientProvider } from './stripe/stripe.client';
import { StripeGateway } from './stripe/stripe.gateway';
import { StripeWebhookController } from './stripe/stripe-webhook.controller';
import { StripeWebhookService } from './stripe/stripe-webhook.service';
import { SubscriptionsService } from './subscriptions.service';

@Module({
  imports: [CreditsModule, PlansModule, UsageModule, TypeOrmModule.forFeature([CreditPurchaseEntity])],
  providers: [
    stripeClientProvider,
    StripeGateway,
    PurchasesService,
    SubscriptionsService,
    StripeWebhookService,
    RenewalService,
    RenewalScheduler,
    BillingResolver,
  ],
  controllers: [StripeWebhookController, LegacyCreditsController],
  exports: [SubscriptionsService, RenewalService],
})
export class BillingModule {}
