import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { inTransaction } from '../database/transaction';
import { AccountsService } from './accounts.service';
import { AccountEntity } from './entities/account.entity';
import { LedgerFunctions } from '../credits/ledger-functions';
import { MetricsService } from '../observability/metrics.service';

export interface RenewalReport {
  renewed: number;
  /** Past-due accounts whose grace ended in this run: they have the FREE limits until they pay. */
  graceEnded: number;
  holdsReleased: number;
  at: Date;
}

const BATCH = 50;
/** Claim loops of one run: each claims its own batches (SKIP LOCKED), so they renew different accounts side by side. */
const RENEWAL_LOOPS = 4;

/**
 * The periodic work: accounts whose period has ended are moved to their current period (the unused allowance
 * expires, the new one is granted once, pending downgrades and cancellations take effect) and expired holds are
 * given back. Any number of instances, and several claim loops in each, may run it at the same moment: each claims
 * different accounts with FOR NO KEY UPDATE SKIP LOCKED and renews a claimed batch together, and every grant is
 * keyed by account, type and period, so nothing is granted twice.
 * After downtime an account jumps straight to the current period; the missed ones are not granted. Past-due
 * subscriptions whose grace (PAST_DUE_GRACE_HOURS) has ended fall back to the FREE limits in the same run.
 */
@Injectable()
export class RenewalService {
  private readonly logger = new Logger(RenewalService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly accounts: AccountsService,
    private readonly ledger: LedgerFunctions,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  async run(at: Date = this.clock.now()): Promise<RenewalReport> {
    const renewed = (await Promise.all(Array.from({ length: RENEWAL_LOOPS }, () => this.renewDue(at)))).reduce(
      (total, count) => total + count,
      0,
    );
    let graceEnded = 0;
    const graceStartedBefore = new Date(at.getTime() - this.config.PAST_DUE_GRACE_HOURS * 3_600_000);
    for (;;) {
      const claimed = await inTransaction(this.dataSource, async (manager) => {
        const lapsed: Array<{ id: string }> = await manager.query(
          `SELECT id FROM accounts WHERE past_due_since <= $1 AND status = 'PAST_DUE' AND plan_code <> 'FREE'
              AND subscription_plan_code IS NOT NULL
            ORDER BY past_due_since LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED`,
          [graceStartedBefore, BATCH],
        );
        for (const { id } of lapsed) if (await this.accounts.entitle(manager, id, at)) graceEnded++;
        return lapsed.length;
      });
      if (claimed < BATCH) break;
    }
    let holdsReleased = 0;
    for (;;) {
      const released = await this.ledger.releaseExpiredHolds(at, BATCH * 10);
      holdsReleased += released;
      if (released < BATCH * 10) break;
    }
    if (renewed || graceEnded || holdsReleased) {
      this.logger.log(
        `Renewed ${renewed} account(s), ended the grace of ${graceEnded} past-due one(s), ` +
          `released ${holdsReleased} expired hold(s)`,
      );
    }
    return { renewed, graceEnded, holdsReleased, at };
  }

  /**
   * One claim loop: batches of due accounts, each claimed and renewed together in one transaction (a few
   * statements per batch, whatever its size), until none is left to claim. Returns how many it renewed.
   */
  private async renewDue(at: Date): Promise<number> {
    let renewed = 0;
    for (;;) {
      const claimed = await inTransaction(this.dataSource, async (manager) => {
        const due = await manager
          .createQueryBuilder(AccountEntity, 'account')
          .where('account.current_period_end <= :at', { at })
          .orderBy('account.current_period_end')
          .limit(BATCH)
          .setLock('for_no_key_update')
          .setOnLocked('skip_locked')
          .getMany();
        await this.accounts.renew(manager, due, at);
        return due.length;
      });
      renewed += claimed;
      this.metrics.renewals.inc(claimed);
      if (claimed < BATCH) return renewed;
    }
  }
}
