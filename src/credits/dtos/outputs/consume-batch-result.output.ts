import { Field, ObjectType } from '@nestjs/graphql';
import { ConsumeResultOutput } from './consume-result.output';

@ObjectType('ConsumeBatchResult', { description: 'the answers to a batch of usage events' })
export class ConsumeBatchResultOutput {
  @Field(() => [ConsumeResultOutput], { description: "one answer per usage event, in the request's order" })
  results!: ConsumeResultOutput[];
}
