import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import { Public } from '../../auth/public.decorator';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { StripeGateway } from './stripe.gateway';
import { StripeWebhookService, WebhookOutcome } from './stripe-webhook.service';

/**
 * Stripe's webhook: no bearer token, the signature over the raw body is the authentication. A bad or stale
 * signature answers 400 and changes nothing; a processing error answers 5xx so that Stripe retries.
 */
@Controller('webhooks')
export class StripeWebhookController {
  constructor(
    private readonly gateway: StripeGateway,
    private readonly webhooks: StripeWebhookService,
  ) {}

  @Public()
  @Post('stripe')
  @HttpCode(200)
  async receive(
    @Req() request: RawBodyRequest<Request>,
    @Headers('stripe-signature') signature: string | undefined,
  ): Promise<{ received: true; outcome: WebhookOutcome }> {
    if (!request.rawBody) throw new BillingException(BillingErrorCode.INVALID_SIGNATURE, 'The request has no body.');
    const event = this.gateway.constructEvent(request.rawBody, signature);
    return { received: true, outcome: await this.webhooks.process(event) };
  }
}
