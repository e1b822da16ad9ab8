import { expect } from 'chai';
import { lastValueFrom, range } from 'rxjs';
import { toArray } from 'rxjs/operators';
import { EventLoopThread, moduleTask, offloadToThread, ThreadPool } from 'rxthreads';
import { fixture, SharedCounters } from '../helpers';

type Input = { sab: SharedArrayBuffer; value?: number };
const gated = moduleTask<Input, number>(fixture('tasks.cjs'), 'gated');

/** Blocks its thread for `ms` (a CPU-bound task of known length). */
const block = (ms: number) => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return ms;
};

const empty = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };

describe('metrics: utilization, runTime, waitTime', () => {
  let pool: ThreadPool;
  let loop: EventLoopThread;
  beforeEach(() => {
    pool = new ThreadPool({ size: 1 });
    loop = new EventLoopThread();
  });
  afterEach(() => Promise.all([pool.terminate(), loop.terminate()]));

  it('starts at zero', () => {
    const stats = pool.stats();
    expect(stats.utilization).to.equal(0);
    expect(stats.runTime).to.deep.equal(empty);
    expect(stats.waitTime).to.deep.equal(empty);
    expect(loop.stats()).to.include({ utilization: 0, completed: 0 });
  });

  it('measures how long tasks ran and waited on a pool, in ms', async () => {
    // One thread, three 40 ms tasks at once: they wait about 0, 40 and 80 ms.
    await Promise.all([40, 40, 40].map((ms) => pool.run(block, ms)));
    const { runTime, waitTime } = pool.stats();
    expect(runTime.count).to.equal(3);
    expect(runTime.p50).to.be.within(38, 400);
    expect(runTime.max).to.be.at.least(runTime.p99).and.at.least(runTime.p50);
    expect(runTime.mean).to.be.within(38, 400);
    expect(waitTime.count).to.equal(3);
    expect(waitTime.max).to.be.at.least(75);
  });

  it('counts every task that ran, failed ones too, through the operators', async () => {
    await lastValueFrom(
      range(0, 500).pipe(
        offloadToThread((x: number) => x, { pool }),
        toArray(),
      ),
    );
    await pool
      .run(() => {
        throw new Error('counted');
      }, null)
      .catch(() => {});
    expect(pool.stats().runTime.count).to.equal(501);
    expect(pool.stats().waitTime.count).to.equal(501);
  });

  it('counts the tasks whose thread was ended: a timeout past its grace, a crash', async () => {
    await pool.terminate();
    pool = new ThreadPool({ size: 1, cancelGraceMs: 10 });
    const spin = (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end);
    };
    await pool.run(spin, 200, { timeout: 50 }).catch(() => {});
    await pool
      .run((ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end);
        process.exit(3);
      }, 60)
      .catch(() => {});
    await pool.run((x: number) => x, 1);
    const { runTime, waitTime } = pool.stats();
    expect(runTime.count).to.equal(3);
    expect(waitTime.count).to.equal(3);
    // The ended ones ran about 60 ms each (a timeout of 50 ms and a 10 ms grace; 60 ms then the exit).
    expect(runTime.max).to.be.at.least(55);
  });

  it('reports utilization between 0 and 1, including a task still running', async () => {
    await pool.run(block, 200);
    const after = pool.stats().utilization;
    expect(after).to.be.above(0.3).and.at.most(1);
    const counters = new SharedCounters();
    const running = pool.run(gated, { sab: counters.buffer, value: 1 });
    await counters.atLeast(1);
    const during = pool.stats().utilization;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pool.stats().utilization).to.be.above(during); // the running task counts before it ends
    counters.set(2, 1);
    await running;
  });

  it('on an EventLoopThread, counts the time with at least one task in progress once', async () => {
    await loop.ready;
    await Promise.all(
      [60, 60, 60].map((ms) =>
        loop.submit((wait: number) => new Promise<number>((resolve) => setTimeout(resolve, wait, wait)), ms),
      ),
    );
    const stats = loop.stats();
    expect(stats.runTime.count).to.equal(3);
    expect(stats.runTime.p50).to.be.within(55, 600);
    // 60 ms of three overlapping tasks is 60 ms busy, not 180: below 1 even so soon after start.
    expect(stats.utilization).to.be.above(0).and.below(0.99);
    expect(stats.threads).to.equal(1);
  });

  it("keeps a thread's busy time after the thread is replaced", async () => {
    await pool.run(block, 100);
    await pool.run(() => process.exit(1), null).catch(() => {});
    const stats = pool.stats();
    expect(stats.utilization).to.be.above(0.1);
    expect(stats.runTime.count).to.equal(2); // the crashed task settled too: timed when its thread was lost
  });

  it('counts no busy time for an EventLoopThread task abandoned after its cancel', async () => {
    const stuck = new EventLoopThread({ cancelGraceMs: 20 });
    try {
      const ac = new AbortController();
      const never = stuck.submit(() => new Promise<never>(() => {}), null, { signal: ac.signal });
      await stuck.submit((x: number) => x, 1); // the stuck task has started
      ac.abort();
      await never.catch(() => {});
      await new Promise((done) => setTimeout(done, 300)); // abandoned after 20 ms; idle since
      const stats = stuck.stats();
      expect(stats.busy).to.equal(0);
      expect(stats.utilization).to.be.below(0.3);
    } finally {
      await stuck.terminate();
    }
  });

  it('times each tiny value of a stream as its own task, and a slow one among them as slow', async () => {
    // Tiny values share jobs and are timed a few at a time (spec/unit/values-timing.spec.ts): the
    // histograms must still count 20,000 tasks, all tiny but one that blocks for 30 ms.
    const slowAt = 15_000;
    const values = await lastValueFrom(
      range(0, 20_000).pipe(
        offloadToThread(
          (x: number) => {
            if (x === 15_000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
            return x + 1;
          },
          { pool },
        ),
        toArray(),
      ),
    );
    expect(values[slowAt]).to.equal(slowAt + 1);
    const { runTime, waitTime } = pool.stats();
    expect(runTime.count).to.equal(20_000);
    expect(waitTime.count).to.equal(20_000);
    expect(runTime.max).to.be.at.least(29);
    expect(runTime.p99).to.be.below(1);
  });

  it('summarises many tasks in bounded memory', async () => {
    const values = await lastValueFrom(
      range(0, 20_000).pipe(
        offloadToThread((x: number) => x + 1, { pool }),
        toArray(),
      ),
    );
    expect(values).to.have.length(20_000);
    const { runTime } = pool.stats();
    expect(runTime.count).to.equal(20_000);
    expect(runTime.p50).to.be.at.most(runTime.p90);
    expect(runTime.p90).to.be.at.most(runTime.p99);
    expect(runTime.p99).to.be.at.most(runTime.max);
  });
});
