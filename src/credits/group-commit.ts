interface Waiting<R, O> {
  request: R;
  resolve: (outcome: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit over one batch function of the ledger (`settleBatch` answers each request, in order, and is
 * retried by the ledger itself when it lost a race). When nothing is in flight a request goes out at once, so an
 * idle service pays no extra latency. Otherwise it leaves with the next batch, together with everything else
 * waiting whose account has no batch in flight, up to `batchSize`. While a batch is in flight, the next one goes out
 * at the end of the current turn of the event loop: the callers a settled batch has just answered often come straight
 * back, and they leave together instead of one by one. Busy accounts, and a busy service, thus pay one transaction
 * per batch instead of one per request. Each request still gets its own answer.
 * At most `concurrency` batches run at once; an account is never in two of them, and each batch takes its
 * accounts in order (the lock order that keeps concurrent batches from deadlocking).
 */
export class GroupCommit<R extends { account: string }, O> {
  private readonly waiting = new Map<string, Array<Waiting<R, O>>>();
  private readonly busy = new Set<string>();
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly settleBatch: (requests: R[]) => Promise<O[]>,
    private readonly batchSize: number,
    private readonly concurrency: number,
  ) {}

  submit(request: R): Promise<O> {
    const answer = this.enqueue(request);
    this.sendNext();
    return answer;
  }

  /**
   * Many requests at once: they join the waiting queues together, each account's in the order given, and leave in
   * as few batches as the batch size allows. One answer per request, in order.
   */
  submitAll(requests: R[]): Promise<O[]> {
    const answers = requests.map((request) => this.enqueue(request));
    this.sendNext();
    return Promise.all(answers);
  }

  private enqueue(request: R): Promise<O> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(request.account);
      if (queue) queue.push({ request, resolve, reject });
      else this.waiting.set(request.account, [{ request, resolve, reject }]);
    });
  }

  /**
   * With nothing in flight, what is waiting goes at once. While a batch keeps the database busy, the next one waits
   * for the end of this turn of the event loop, so that callers answered together leave together.
   */
  private sendNext(): void {
    if (this.running === 0) this.pump();
    else this.pumpSoon();
  }

  /** Sends the next batch once the requests that arrive in this turn of the event loop have joined it. */
  private pumpSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const batch: Array<Waiting<R, O>> = [];
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
        this.sendNext();
      });
    }
  }

  private async settle(batch: Array<Waiting<R, O>>): Promise<void> {
    // Stable: one account's requests keep their order of arrival.
    batch.sort((a, b) => (a.request.account < b.request.account ? -1 : a.request.account > b.request.account ? 1 : 0));
    try {
      const outcomes = await this.settleBatch(batch.map((item) => item.request));
      batch.forEach((item, index) => item.resolve(outcomes[index]));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      // One bad request must not fail the others: settle them one by one.
      for (const item of batch) {
        await this.settleBatch([item.request]).then(([outcome]) => item.resolve(outcome), item.reject);
      }
    }
  }
}
