import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { connectionOf } from '../../common/pagination';

@ObjectType('Project', { description: "An example of the host application's own data, guarded by @RequiresCredits." })
export class ProjectOutput {
  @Field(() => ID, { description: "the project's id" })
  id!: string;

  @Field({ description: 'its name' })
  name!: string;

  @Field({ description: 'when it was created' })
  createdAt!: Date;
}

export const ProjectConnection = connectionOf(ProjectOutput, 'Project', 'oldest first');

@ObjectType('ChatMessage', { description: 'a message sent in a project (the example of a guarded MESSAGE charge)' })
export class ChatMessageOutput {
  @Field(() => ID, { description: "the message's id" })
  id!: string;

  @Field(() => ID, { description: 'the project it was sent in' })
  projectId!: string;

  @Field({ description: 'what was sent' })
  text!: string;

  @Field({ description: 'when it was sent' })
  createdAt!: Date;
}

@ObjectType('IntegrationRun', {
  description: 'a run of API integration calls in a project (the example of a guarded INTEGRATION charge)',
})
export class IntegrationRunOutput {
  @Field(() => ID, { description: "the run's id" })
  id!: string;

  @Field(() => ID, { description: 'the project it ran in' })
  projectId!: string;

  @Field(() => Int, { description: 'calls made, each one INTEGRATION credit' })
  calls!: number;

  @Field({ description: 'when it ran' })
  createdAt!: Date;
}
