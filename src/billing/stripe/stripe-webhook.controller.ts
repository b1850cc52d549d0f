import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import type Stripe from 'stripe';
import { MetricsService } from '../../observability/metrics.service';
import { Public } from '../../auth/public.decorator';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { StripeGateway } from './stripe.gateway';
import { StripeWebhookService, WebhookOutcome } from './stripe-webhook.service';
import { SkipRateLimits } from '../../auth/rate-limit.guard';

/**
 * Stripe's webhook: no bearer token, the signature over the raw body is the authentication. A bad or stale
 * signature answers 400 and changes nothing; a processing error answers 5xx so that Stripe retries.
 */
@Controller('webhooks')
@SkipRateLimits()
export class StripeWebhookController {
  constructor(
    private readonly gateway: StripeGateway,
    private readonly webhooks: StripeWebhookService,
    private readonly metrics: MetricsService,
  ) {}

  @Public()
  @Post('stripe')
  @HttpCode(200)
  async receive(
    @Req() request: RawBodyRequest<Request>,
    @Headers('stripe-signature') signature: string | undefined,
  ): Promise<{ received: true; outcome: WebhookOutcome }> {
    let event: Stripe.Event;
    try {
      if (!request.rawBody) throw new BillingException(BillingErrorCode.INVALID_SIGNATURE, 'The request has no body.');
      event = this.gateway.constructEvent(request.rawBody, signature);
    } catch (error) {
      this.metrics.webhookEvents.inc({ type: 'unknown', outcome: 'REJECTED' });
      throw error;
    }
    try {
      const outcome = await this.webhooks.process(event);
      this.metrics.webhookEvents.inc({ type: event.type, outcome });
      return { received: true, outcome };
    } catch (error) {
      this.metrics.webhookEvents.inc({ type: event.type, outcome: 'FAILED' });
      throw error;
    }
  }
}
