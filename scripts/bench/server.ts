/**
 * The service with extra resolvers for the benchmark:
 * - `sendChatMessageUnguarded`, the same work as sendChatMessage without @RequiresCredits, so that the difference
 *   is what enforcement costs;
 * - floors to read that cost against, made of bare debits (the baseline's conditional UPDATE and ledger INSERT as
 *   one statement: one round trip, one commit) and nothing else: `sendChatMessageBareDebitAfter` adds one after the
 *   unguarded work, before the answer, the least a guard must write when an acknowledged charge has to survive a
 *   crash; `sendChatMessageBareDebitsAround` adds one before the work and one after, the least a reservation that
 *   commits before the resolver and a capture that commits before the answer can cost.
 */
import { Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Args, Mutation, Resolver } from '@nestjs/graphql';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { CurrentAccount } from '../../src/auth/current-account.decorator';
import { AuthenticatedAccount } from '../../src/auth/role.enum';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { poolStatement } from '../../src/database/pool-statement';
import { ChatMessageOutput } from '../../src/projects/dtos/project.output';
import { SendChatMessageArgs } from '../../src/projects/dtos/project.args';
import { ProjectAccessGuard } from '../../src/projects/project-access.guard';
import { ProjectsModule } from '../../src/projects/projects.module';
import { ProjectsService } from '../../src/projects/projects.service';

/** The baseline's debit (scripts/bench/baseline.ts) as one statement: one round trip, one commit. */
const BARE_DEBIT = `
  WITH debit AS (
    UPDATE bench_balances SET balance = balance - 1 WHERE id = $1 AND balance >= 1 RETURNING id, balance)
  INSERT INTO bench_ledger (account, amount, balance_after) SELECT id, -1, balance FROM debit`;

@Resolver()
class UnguardedTwinResolver {
  constructor(
    private readonly projects: ProjectsService,
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** A trivial mutation behind every layer of the service (authenticated, no database): the request stack's cost. */
  @Mutation(() => String)
  benchPing(@CurrentAccount() account: AuthenticatedAccount): string {
    return account.id;
  }

  // The host's own ownership check stays: only @RequiresCredits is taken away.
  @UseGuards(ProjectAccessGuard)
  @Mutation(() => ChatMessageOutput)
  sendChatMessageUnguarded(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args() args: SendChatMessageArgs,
  ): Promise<ChatMessageOutput> {
    return this.projects.sendMessage(account.id, args.projectId, args.text);
  }

  @UseGuards(ProjectAccessGuard)
  @Mutation(() => ChatMessageOutput)
  async sendChatMessageBareDebitAfter(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args() args: SendChatMessageArgs,
  ): Promise<ChatMessageOutput> {
    const message = await this.projects.sendMessage(account.id, args.projectId, args.text);
    await this.bareDebit(account.id);
    return message;
  }

  @UseGuards(ProjectAccessGuard)
  @Mutation(() => ChatMessageOutput)
  async sendChatMessageBareDebitsAround(
    @CurrentAccount() account: AuthenticatedAccount,
    @Args() args: SendChatMessageArgs,
  ): Promise<ChatMessageOutput> {
    await this.bareDebit(account.id);
    const message = await this.projects.sendMessage(account.id, args.projectId, args.text);
    await this.bareDebit(account.id);
    return message;
  }

  /**
   * Each HTTP bench account (`http-<n>`) debits its own baseline balance row, through the driver's pool and
   * prepared or not, the way the ledger sends its calls (src/credits/ledger-functions.ts).
   */
  private async bareDebit(accountId: string): Promise<void> {
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const row = 1 + Number(accountId.slice(accountId.lastIndexOf('-') + 1));
    await pool.query(poolStatement(BARE_DEBIT, [row], this.config.preparedStatements));
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
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
  process.send?.('ready');
}

void main();
