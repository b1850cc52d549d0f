/**
 * The service with one extra resolver for the benchmark: `sendChatMessageUnguarded`, the same work as
 * sendChatMessage without @RequiresCredits, so that the difference is what enforcement costs.
 */
import { Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Args, Mutation, Resolver } from '@nestjs/graphql';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { CurrentAccount } from '../../src/auth/current-account.decorator';
import { AuthenticatedAccount } from '../../src/auth/role.enum';
import { loadConfig } from '../../src/config/app-config';
import { ChatMessageOutput } from '../../src/projects/dtos/project.output';
import { SendChatMessageArgs } from '../../src/projects/dtos/project.args';
import { ProjectAccessGuard } from '../../src/projects/project-access.guard';
import { ProjectsModule } from '../../src/projects/projects.module';
import { ProjectsService } from '../../src/projects/projects.service';

@Resolver()
class UnguardedTwinResolver {
  constructor(private readonly projects: ProjectsService) {}

  // The host's own ownership check stays: only @RequiresCredits is taken away.
  @UseGuards(ProjectAccessGuard)
  @Mutation(() => ChatMessageOutput)
  sendChatMessageUnguarded(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args() args: SendChatMessageArgs,
  ): Promise<ChatMessageOutput> {
    return this.projects.sendMessage(account.id, args.projectId, args.text);
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  @Module({
    imports: [AppModule.forRoot(config, config.DATABASE_URL!), ProjectsModule],
    providers: [ProjectAccessGuard, UnguardedTwinResolver],
  })
  class BenchServerModule {}
  const app = await NestFactory.create<NestExpressApplication>(BenchServerModule, { rawBody: true, logger: ['error'] });
  configureApp(app, config);
  await app.listen(config.PORT, '127.0.0.1');
  process.send?.('ready');
}

void main();
