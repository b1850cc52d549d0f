import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { coreImports } from '../../src/app.module';
import { AppConfig } from '../../src/config/app-config';
import { AccountsService } from '../../src/accounts/accounts.service';
import { CreditType } from '../../src/credits/credit-type.enum';
import { CreditsModule } from '../../src/credits/credits.module';
import { CreditsService } from '../../src/credits/credits.service';
import { measure, Measurement } from './measure';

export const LEDGER_ACCOUNTS = 2_000;
export const HOT_ACCOUNT = 'bench-hot';

/** The Credits service in-process, on the benchmark database: what a charge costs without HTTP around it. */
export async function startLedger(config: AppConfig, url: string): Promise<INestApplicationContext> {
  @Module({ imports: [...coreImports(config, url), CreditsModule] })
  class LedgerBenchModule {}
  return NestFactory.createApplicationContext(LedgerBenchModule, { logger: ['error', 'warn'] });
}

/** Accounts with a wallet large enough never to refuse a charge during the run. */
export async function prepareLedgerAccounts(app: INestApplicationContext, ids: string[]): Promise<void> {
  const accounts = app.get(AccountsService);
  const credits = app.get(CreditsService);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const accountId = ids[next++];
        await accounts.ensure(accountId);
        await credits.grant({ accountId, amount: 1_000_000_000, kind: 'ADMIN', sourceKey: `bench:${accountId}` });
      }
    }),
  );
}

export function ledgerAccountIds(): string[] {
  return [HOT_ACCOUNT, ...Array.from({ length: LEDGER_ACCOUNTS }, (_, i) => `bench-${i}`)];
}

export function runLedger(
  app: INestApplicationContext,
  clients: number,
  durationMs: number,
  hot: boolean,
): Promise<Measurement> {
  const credits = app.get(CreditsService);
  return measure(clients, durationMs, async () => {
    const accountId = hot ? HOT_ACCOUNT : `bench-${Math.floor(Math.random() * LEDGER_ACCOUNTS)}`;
    const outcome = await credits.consume(accountId, { type: CreditType.INTEGRATION, amount: 1 });
    if (!outcome.allowed) throw new Error('refused');
  });
}
