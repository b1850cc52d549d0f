import { GroupCommit } from './group-commit';

interface Op {
  account: string;
  value: number;
}

/** A batch settler that answers each operation with its value doubled, after a round trip's worth of waiting. */
function recordingSettler() {
  const batches: Op[][] = [];
  const settle = async (ops: Op[]): Promise<number[]> => {
    batches.push(ops);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return ops.map((op) => op.value * 2);
  };
  return { batches, settle };
}

/** A few awaits between an answer and the caller's next request, as the service's own layers add. */
async function throughLayers<T>(value: T): Promise<T> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
  return value;
}

describe('GroupCommit', () => {
  it("sends an idle account's request at once, alone", async () => {
    const { batches, settle } = recordingSettler();
    const commit = new GroupCommit<Op, number>(settle, 10, 2);
    const answer = commit.submit({ account: 'a', value: 1 });
    expect(batches).toEqual([[{ account: 'a', value: 1 }]]);
    await expect(answer).resolves.toBe(2);
  });

  it('gives each request its own answer, one account in one batch at a time and in order of arrival', async () => {
    const { batches, settle } = recordingSettler();
    const commit = new GroupCommit<Op, number>(settle, 10, 2);
    const ops = [
      { account: 'b', value: 1 },
      { account: 'a', value: 2 },
      { account: 'b', value: 3 },
      { account: 'c', value: 4 },
      { account: 'a', value: 5 },
    ];
    const answers = await Promise.all(ops.map((op) => commit.submit(op)));
    expect(answers).toEqual([2, 4, 6, 8, 10]);
    for (const batch of batches) {
      // Accounts in order within a batch (the lock order), each account's requests in order of arrival.
      expect(batch.map((op) => op.account)).toEqual([...batch.map((op) => op.account)].sort());
    }
    const ofB = batches.flat().filter((op) => op.account === 'b');
    expect(ofB.map((op) => op.value)).toEqual([1, 3]);
    // b's second request could not share a batch with its first.
    expect(batches.find((batch) => batch.includes(ops[0]))).not.toContain(ops[2]);
  });

  it("sends what waited for a busy account as soon as the account's batch settles, when nothing else is in flight", async () => {
    const { batches, settle } = recordingSettler();
    const commit = new GroupCommit<Op, number>(settle, 10, 2);
    const first = commit.submit({ account: 'hot', value: 1 });
    const later = [commit.submit({ account: 'hot', value: 2 }), commit.submit({ account: 'hot', value: 3 })];
    expect(batches).toHaveLength(1);
    await first;
    // A few microtasks later, without a turn of the event loop: the hot account's next batch is already out.
    await throughLayers(undefined);
    expect(batches.map((batch) => batch.map((op) => op.value))).toEqual([[1], [2, 3]]);
    await expect(Promise.all(later)).resolves.toEqual([4, 6]);
  });

  it('lets callers that a settled batch answered, and that come straight back, leave together', async () => {
    const { batches, settle } = recordingSettler();
    const commit = new GroupCommit<Op, number>(settle, 100, 2);
    const clients = 8;
    const rounds = 10;
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let round = 0; round < rounds; round++) {
          expect(await throughLayers(await commit.submit({ account: `acct-${client}`, value: round }))).toBe(round * 2);
        }
      }),
    );
    expect(batches.flat()).toHaveLength(clients * rounds);
    // The callers a batch answers come back together and leave in one batch (only a caller that went alone comes
    // back alone while the other batch is in flight). Sent as they came back, one by one, they take a batch of their
    // own each time the first of them finds a free slot: 30 batches here instead of 20.
    expect(batches.length).toBeLessThanOrEqual((clients * rounds) / 3);
  });

  it('sends requests submitted together in as few batches as the size allows, each account in its order', async () => {
    const { batches, settle } = recordingSettler();
    const commit = new GroupCommit<Op, number>(settle, 4, 2);
    const ops = [
      { account: 'a', value: 1 },
      { account: 'b', value: 2 },
      { account: 'a', value: 3 },
      { account: 'c', value: 4 },
      { account: 'a', value: 5 },
      { account: 'b', value: 6 },
    ];
    await expect(commit.submitAll(ops)).resolves.toEqual([2, 4, 6, 8, 10, 12]);
    // At once: the first batch takes a's three and b's first (4 is the size); c, waiting meanwhile, goes in the
    // second, which cannot take a or b while they are in flight.
    expect(batches.map((batch) => batch.map((op) => op.value))).toEqual([[1, 3, 5, 2], [4], [6]]);
  });
});
