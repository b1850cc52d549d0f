import { Field, ID, Int, ObjectType } from '@nestjs/graphql';

@ObjectType('Project', { description: "An example of the host application's own data, guarded by @RequiresCredits." })
export class ProjectOutput {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;
}

@ObjectType('ChatMessage')
export class ChatMessageOutput {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  projectId!: string;

  @Field()
  text!: string;

  @Field()
  createdAt!: Date;
}

@ObjectType('IntegrationRun')
export class IntegrationRunOutput {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  projectId!: string;

  @Field(() => Int)
  calls!: number;

  @Field()
  createdAt!: Date;
}
