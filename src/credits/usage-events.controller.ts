import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount } from '../auth/role.enum';
import { CreditsService } from './credits.service';
import { ConsumeCreditsBatchInput } from './dtos/inputs/consume-credits-batch.input';
import { ConsumeBatchResultOutput } from './dtos/outputs/consume-batch-result.output';
import { consumeResult, usageEvents } from './metering';

/** Metering over REST: `POST /api/usage/events` takes a batch of usage events, as consumeCreditsBatch does. */
@Controller('api/usage')
export class UsageEventsController {
  constructor(private readonly credits: CreditsService) {}

  @Post('events')
  @HttpCode(200)
  async record(
    @CurrentAccount() caller: AuthenticatedAccount,
    @Body() body: ConsumeCreditsBatchInput,
  ): Promise<ConsumeBatchResultOutput> {
    const events = usageEvents(caller, body.events);
    return { results: (await this.credits.consumeMany(events)).map(consumeResult) };
  }
}
