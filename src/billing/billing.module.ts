import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CreditsModule } from '../credits/credits.module';
import { PlansModule } from '../plans/plans.module';
import { UsageModule } from '../usage/usage.module';
import { BillingResolver } from './billing.resolver';
import { CreditPurchaseEntity } from './entities/credit-purchase.entity';
import { RetiredSubscriptionEntity } from './entities/retired-subscription.entity';
import { SubscriptionCheckoutEntity } from './entities/subscription-checkout.entity';
import { LegacyCreditsController } from './legacy-credits.controller';
import { PurchasesService } from './purchases.service';
import { RetiredSubscriptionsService } from './retired-subscriptions.service';
import { stripeClientProvider } from './stripe/stripe.client';
import { StripeGateway } from './stripe/stripe.gateway';
import { StripeWebhookController } from './stripe/stripe-webhook.controller';
import { StripeWebhookService } from './stripe/stripe-webhook.service';
import { SubscriptionCheckoutsService } from './subscription-checkouts.service';
import { SubscriptionsService } from './subscriptions.service';

@Module({
  imports: [
    CreditsModule,
    PlansModule,
    UsageModule,
    TypeOrmModule.forFeature([CreditPurchaseEntity, SubscriptionCheckoutEntity, RetiredSubscriptionEntity]),
  ],
  providers: [
    stripeClientProvider,
    StripeGateway,
    PurchasesService,
    SubscriptionsService,
    SubscriptionCheckoutsService,
    RetiredSubscriptionsService,
    StripeWebhookService,
    BillingResolver,
  ],
  controllers: [StripeWebhookController, LegacyCreditsController],
  exports: [SubscriptionsService],
})
export class BillingModule {}
