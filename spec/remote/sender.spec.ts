// The submission path of a RemotePool on its own (no Redis): when batches go, and how big they are.
import { expect } from 'chai';
import { RemoteGroup, type RemoteJob } from '../../lib/remote/client/group';
import { Ledger } from '../../lib/remote/client/ledger';
import type { Link } from '../../lib/remote/client/link';
import { Sender } from '../../lib/remote/client/sender';
import { definitionOf } from '../../lib/task/definition';
import { namedTask } from '../../lib/task/named';
import type { JobData } from '../../lib/wire/remote';

/** A sender whose link records each `add` and `addBulk` (the inputs of each job) and the order of events. */
function setUp(limit: number) {
  const added: string[][][] = [];
  const events: string[] = [];
  const link = {
    ready: Promise.resolve(),
    keepLive: () => {},
    queue: {
      addBulk: async (jobs: { data: JobData }[]) => {
        added.push(jobs.map((job) => job.data.i));
        events.push(`add ${jobs.map((job) => job.data.i.length).join(',')}`);
        return [];
      },
      add: async (_name: string, data: JobData) => {
        added.push([data.i]);
        events.push(`add ${data.i.length}`);
        return {};
      },
      remove: async () => 1,
    },
    client: { publish: async () => 0 },
    lastError: undefined,
  } as unknown as Link;
  const ledger = new Ledger();
  const sender = new Sender(
    { id: 'pool', queue: 'q', attempts: 1, batchSize: undefined, replies: 'r', live: 'l', channel: 'c' },
    ledger,
    { closed: () => false, connect: () => link, lose: () => {} },
  );
  const spec = { def: definitionOf(namedTask('inc')), settle: () => {}, yielded: () => {}, timeout: 0 };
  const group = new RemoteGroup(limit, spec, 'inc');
  let tag = 0;
  /** Gives inputs, as `RemoteEngine.feed` does. */
  const feed = (count: number) => {
    for (let i = 0; i < count; i++) {
      const job: RemoteJob = { group, data: String(tag), input: tag, tag: tag++, settled: false, batch: undefined };
      group.waiting.push(job);
      ledger.groups.add(group);
      ledger.queued++;
    }
    sender.pump(group);
  };
  /** Settles the first `count` inputs in flight, as outcomes read in one go do (see `Outcomes`). */
  const settle = (count: number) => {
    const open = [...ledger.inFlight.values()].flatMap((batch) => batch.jobs).filter((job) => !job.settled);
    for (const job of open.slice(0, count)) {
      ledger.forget(job);
      ledger.settle(job, undefined, 0);
      sender.pump(group);
    }
  };
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  return { sender, ledger, group, added, events, feed, settle, turn };
}

describe('RemotePool sending (Sender)', () => {
  it('sends what is given while nothing is in flight at the end of that turn, before the next turn of the event loop', async () => {
    const { events, feed, turn } = setUp(64);
    setImmediate(() => events.push('next turn'));
    feed(3);
    await turn();
    await turn();
    // Until a task's duration is known, an input is a job of its own; the three go in one addBulk.
    expect(events).to.deep.equal(['add 1,1,1', 'next turn']);
  });

  it('holds the batch it fills while the stream waits for room, and sends it once full or once nothing more waits', async () => {
    const { sender, added, feed, settle, turn } = setUp(64);
    sender.observe('inc', 0.05); // tiny: a batch is an eighth of the concurrency, 8 inputs
    feed(64 + 20);
    await turn();
    expect(added.flat().map((inputs) => inputs.length)).to.deep.equal([8, 8, 8, 8, 8, 8, 8, 8]);
    // Outcomes of 3 inputs make room for 3 of the 20 waiting: their batch is not sent until it has 8.
    settle(3);
    await turn();
    expect(added).to.have.length(1);
    settle(4);
    await turn();
    expect(added).to.have.length(1);
    settle(1);
    await turn();
    expect(added.at(-1)!.map((inputs) => inputs.length)).to.deep.equal([8]);
    // 12 still wait: two more full batches, then the last 4 go at once, with nothing behind them.
    settle(8);
    await turn();
    settle(8);
    await turn();
    expect(added.slice(2).map((job) => job.map((inputs) => inputs.length))).to.deep.equal([[8], [4]]);
    const sent = added.flat(2);
    expect(sent).to.have.length(84);
    expect(new Set(sent).size, 'each input sent once').to.equal(84);
  });

  it('sizes batches from the geometric average of the workers’ times: slow outliers among tiny tasks do not shrink them', async () => {
    const { sender, added, feed, turn } = setUp(256);
    // A loaded machine: most runs of a tiny task take 20 µs, one in ten 30 ms (a thread waiting for a
    // core). Their arithmetic mean, 3 ms, would make batches of 3; the geometric one keeps 32.
    for (let i = 0; i < 200; i++) sender.observe('inc', i % 10 === 9 ? 30 : 0.02);
    feed(256);
    await turn();
    expect(added.flat().map((inputs) => inputs.length)).to.deep.equal(Array(8).fill(32));
  });

  it('still sends tasks of 10 ms or more one per job', async () => {
    const { sender, added, feed, turn } = setUp(256);
    for (let i = 0; i < 50; i++) sender.observe('inc', i % 10 === 9 ? 2 : 12);
    feed(4);
    await turn();
    expect(added.flat().map((inputs) => inputs.length)).to.deep.equal([1, 1, 1, 1]);
  });
});
