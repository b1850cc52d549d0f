import { Field, InputType } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { ConsumeCreditsInput } from './consume-credits.input';

/** The most usage events one metering request may carry. */
export const MAX_BATCH_EVENTS = 1000;

@InputType('ConsumeCreditsBatchInput', { description: 'usage events to charge in one request' })
export class ConsumeCreditsBatchInput {
  @Field(() => [ConsumeCreditsInput], {
    description:
      `1 to ${MAX_BATCH_EVENTS} usage events, each charged as consumeCredits would charge it alone (its own ` +
      'idempotency key and answer), one account\'s events in this order',
  })
  @IsArray()
  @ArrayMinSize(1, { message: 'events must hold at least one usage event' })
  @ArrayMaxSize(MAX_BATCH_EVENTS, { message: `events may hold at most ${MAX_BATCH_EVENTS} usage events` })
  @ValidateNested({ each: true })
  @Type(() => ConsumeCreditsInput)
  events!: ConsumeCreditsInput[];
}
