import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { pgErrorCode } from '../database/transaction';
import { BatchedConsume, ChargeOutcome, Ledger } from './ledger';

interface Waiting {
  request: BatchedConsume;
  resolve: (outcome: ChargeOutcome) => void;
  reject: (error: unknown) => void;
}

const RETRYABLE = new Set(['23505', '40001', '40P01']);

/**
 * Group commit for consumption. A charge for an account with nothing in flight goes out at once (alone, or with
 * whatever else is waiting); charges arriving while their account's batch is in flight wait and leave together in
 * the next one, up to CONSUME_BATCH_SIZE. A hot account thus pays one transaction per batch instead of one per
 * charge, and an idle one pays no extra latency. Each charge still gets its own answer and its own ledger rows.
 * At most CONSUME_BATCH_CONCURRENCY batches run at once; an account is never in two of them, and each batch locks
 * its accounts in order.
 */
@Injectable()
export class ConsumeCoalescer {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly busy = new Set<string>();
  private running = 0;
  private readonly batchSize: number;
  private readonly concurrency: number;

  constructor(
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    @Inject(AppConfig) config: AppConfig,
  ) {
    this.batchSize = config.CONSUME_BATCH_SIZE;
    this.concurrency = Math.max(1, Math.min(config.CONSUME_BATCH_CONCURRENCY, config.DATABASE_POOL_SIZE - 1));
  }

  consume(request: BatchedConsume): Promise<ChargeOutcome> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(request.account);
      if (queue) queue.push({ request, resolve, reject });
      else this.waiting.set(request.account, [{ request, resolve, reject }]);
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const batch: Waiting[] = [];
      for (const [account, queue] of this.waiting) {
        if (this.busy.has(account)) continue;
        const room = this.batchSize - batch.length;
        if (room <= 0) break;
        const taken = queue.splice(0, room);
        if (queue.length === 0) this.waiting.delete(account);
        batch.push(...taken);
        this.busy.add(account);
      }
      if (batch.length === 0) return;
      this.running++;
      void this.settle(batch).finally(() => {
        for (const item of batch) this.busy.delete(item.request.account);
        this.running--;
        this.pump();
      });
    }
  }

  private async settle(batch: Waiting[]): Promise<void> {
    // Accounts in order: the lock order that keeps concurrent batches from deadlocking.
    batch.sort((a, b) => (a.request.account < b.request.account ? -1 : a.request.account > b.request.account ? 1 : 0));
    try {
      const outcomes = await this.attempt(batch.map((item) => item.request));
      batch.forEach((item, index) => item.resolve(outcomes[index]));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      // One bad request must not fail the others: settle them one by one.
      for (const item of batch) {
        await this.attempt([item.request]).then(([outcome]) => item.resolve(outcome), item.reject);
      }
    }
  }

  private async attempt(requests: BatchedConsume[]): Promise<ChargeOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ledger.consumeBatch(requests, this.clock.now());
      } catch (error) {
        const code = pgErrorCode(error);
        if (!code || !RETRYABLE.has(code) || attempt >= 4) throw error;
      }
    }
  }
}
