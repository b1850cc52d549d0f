import { UseGuards } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentAccount } from '../auth/current-account.decorator';
import { AuthenticatedAccount } from '../auth/role.enum';
import { encodeCreationCursor, pageSize } from '../common/cursor';
import { Connection, connectionFrom, PAGE_ARGS } from '../common/pagination';
import { CreditType } from '../credits/credit-type.enum';
import { Metered, MeteredCall } from '../credits/metered-call';
import { RequiresCredits } from '../credits/requires-credits.decorator';
import { ChatMessageOutput, IntegrationRunOutput, ProjectConnection, ProjectOutput } from './dtos/project.output';
import { CreateProjectArgs, ProjectIdArgs, RunIntegrationArgs, SendChatMessageArgs } from './dtos/project.args';
import { ProjectAccessGuard } from './project-access.guard';
import { ProjectsService } from './projects.service';

/**
 * How a host application meters its own resolvers: one decorator line each. Each guarded mutation writes its row in
 * the metered call's transaction, so that the row and its charge commit together: a crash between them cannot
 * leave work done and unpaid.
 */
@Resolver()
export class ProjectsResolver {
  constructor(private readonly projectsService: ProjectsService) {}

  @Query(() => [ProjectOutput], {
    description: "the caller's projects, oldest first, all at once (projectsConnection pages them)",
  })
  projects(@CurrentAccount() account: AuthenticatedAccount): Promise<ProjectOutput[]> {
    return this.projectsService.list(account.id);
  }

  @Query(() => ProjectConnection, { description: "the caller's projects, oldest first, a page at a time" })
  async projectsConnection(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args('first', PAGE_ARGS.first) first?: number,
    @Args('after', PAGE_ARGS.after) after?: string,
  ): Promise<Connection<ProjectOutput>> {
    const page = await this.projectsService.page(account.id, pageSize(first), after);
    return connectionFrom(page, encodeCreationCursor, (project) => project);
  }

  @RequiresCredits([
    { type: CreditType.MESSAGE, amount: 1 },
    { type: CreditType.PROJECT, amount: 1 },
  ])
  @Mutation(() => ProjectOutput, { description: 'guarded: 1 MESSAGE + 1 PROJECT; creates a project' })
  createProject(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args() args: CreateProjectArgs,
    @Metered() call: MeteredCall,
  ): Promise<ProjectOutput> {
    return call.transaction((manager) => this.projectsService.create(account.id, args.name, manager));
  }

  @Mutation(() => Boolean, { description: "deletes one of the caller's projects and gives the PROJECT unit back" })
  async deleteProject(@CurrentAccount() account: AuthenticatedAccount, @Args() args: ProjectIdArgs): Promise<boolean> {
    await this.projectsService.delete(account.id, args.id);
    return true;
  }

  @UseGuards(ProjectAccessGuard)
  @RequiresCredits({ type: CreditType.MESSAGE, amount: 1 })
  @Mutation(() => ChatMessageOutput, { description: 'guarded: 1 MESSAGE; sends a message in a project' })
  sendChatMessage(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args() args: SendChatMessageArgs,
    @Metered() call: MeteredCall,
  ): Promise<ChatMessageOutput> {
    return call.transaction((manager) => this.projectsService.sendMessage(account.id, args.projectId, args.text, manager));
  }

  @UseGuards(ProjectAccessGuard)
  @RequiresCredits<RunIntegrationArgs>({ type: CreditType.INTEGRATION, amount: (args) => args.calls })
  @Mutation(() => IntegrationRunOutput, {
    description: 'guarded: `calls` INTEGRATION; runs integration calls in a project',
  })
  runIntegration(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args() args: RunIntegrationArgs,
    @Metered() call: MeteredCall,
  ): Promise<IntegrationRunOutput> {
    return call.transaction((manager) =>
      this.projectsService.runIntegration(account.id, args.projectId, args.calls, manager),
    );
  }
}
