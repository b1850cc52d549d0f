import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { notImplemented } from '../common/common.exception';
import { ChatMessageOutput, IntegrationRunOutput, ProjectOutput } from './dtos/project.output';

@Resolver()
export class ProjectsResolver {
  @Query(() => [ProjectOutput])
  projects(): Promise<ProjectOutput[]> {
    throw notImplemented('projects');
  }

  @Mutation(() => ProjectOutput, { description: 'guarded: 1 MESSAGE + 1 PROJECT' })
  createProject(@Args('name') _name: string): Promise<ProjectOutput> {
    throw notImplemented('createProject');
  }

  @Mutation(() => Boolean, { description: 'gives the PROJECT unit back' })
  deleteProject(@Args('id', { type: () => ID }) _id: string): Promise<boolean> {
    throw notImplemented('deleteProject');
  }

  @Mutation(() => ChatMessageOutput, { description: 'guarded: 1 MESSAGE' })
  sendChatMessage(
    @Args('projectId', { type: () => ID }) _projectId: string,
    @Args('text') _text: string,
  ): Promise<ChatMessageOutput> {
    throw notImplemented('sendChatMessage');
  }

  @Mutation(() => IntegrationRunOutput, { description: 'guarded: `calls` INTEGRATION' })
  runIntegration(
    @Args('projectId', { type: () => ID }) _projectId: string,
    @Args('calls', { type: () => Int }) _calls: number,
  ): Promise<IntegrationRunOutput> {
    throw notImplemented('runIntegration');
  }
}
