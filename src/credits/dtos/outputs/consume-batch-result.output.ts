import { Field, ObjectType } from '@nestjs/graphql';
import { ConsumeResultOutput } from './consume-result.output';

@ObjectType('ConsumeBatchResult')
export class ConsumeBatchResultOutput {
  @Field(() => [ConsumeResultOutput], { description: "one answer per usage event, in the request's order" })
  results!: ConsumeResultOutput[];
}
