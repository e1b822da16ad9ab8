import { expect } from 'chai';
import fc from 'fast-check';
import { from } from 'rxjs';
import { EventLoopThread, moduleTask, offloadToThread, runOnLoop, TaskError, ThreadPool } from 'rxthreads';
import { fixture, grace, observe, record, scale } from '../helpers';

type Probe = { sab: SharedArrayBuffer; i: number; ms: number; sync: boolean; fail: boolean };
const probe = moduleTask<Probe, number>(fixture('probe.cjs'), 'probe');

const scenario = fc.record({
  values: fc.array(fc.record({ ms: fc.constantFrom(0, 0, 1, 3), sync: fc.boolean() }), { maxLength: 40 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  ordered: fc.boolean(),
  failAt: fc.option(fc.nat({ max: 45 }), { nil: undefined }),
  stopAfter: fc.option(fc.nat({ max: 45 }), { nil: undefined }),
  via: fc.constantFrom('pool' as const, 'loop' as const),
});

describe('exactly once (property)', function () {
  this.timeout(120_000);
  let pool: ThreadPool;
  let loop: EventLoopThread;
  before(() => {
    pool = new ThreadPool({ size: 2, cancelGraceMs: 200 });
    loop = new EventLoopThread();
  });
  after(() => Promise.all([pool.terminate(), loop.terminate()]));

  const runs = scale(150, 1500);
  it('yields each value exactly once, in order when asked, within concurrency, and starts nothing after the end (pool and loop)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ values, concurrency, ordered, failAt, stopAfter, via }) => {
        const n = values.length;
        const sab = new SharedArrayBuffer((2 + n) * 4);
        const shared = new Int32Array(sab);
        const fails = failAt !== undefined && failAt < n;
        const inputs: Probe[] = values.map((v, i) => ({ sab, i, ms: v.ms, sync: v.sync, fail: i === failAt }));
        const out$ = from(inputs).pipe(
          via === 'pool'
            ? offloadToThread(probe, { pool, concurrency, ordered })
            : runOnLoop(loop, probe, { concurrency, ordered }),
        );
        const { outputs, error, how } = await observe(out$, stopAfter);

        // Nothing is emitted twice, and only values of the source are emitted.
        expect(new Set(outputs).size).to.equal(outputs.length);
        for (const i of outputs) expect(i).to.be.within(0, n - 1);
        if (ordered) expect(outputs).to.deep.equal(outputs.map((_, k) => k));
        if (how === 'complete') {
          expect(fails).to.equal(false);
          expect([...outputs].sort((a, b) => a - b)).to.deep.equal(inputs.map((_, i) => i));
        }
        if (how === 'error') {
          expect(error).to.be.instanceOf(TaskError);
          expect(outputs).to.not.include(failAt);
        }
        if (how === 'unsubscribed') expect(outputs.length).to.equal(stopAfter);

        // After the end: nothing still runs (cancelled tasks stop), and nothing more starts.
        const deadline = Date.now() + 2_000;
        // A task the thread had already started when the cancel came counts as running from then,
        // a few microseconds before its body bumps the counter: wait for the pool's own word too.
        const busy = () => Atomics.load(shared, 0) > 0 || (via === 'pool' && pool.stats().busy > 0);
        while (busy() && Date.now() < deadline) await grace(5);
        expect(busy(), 'tasks still running after the end').to.equal(false);
        const starts = Array.from(shared.subarray(2));
        await grace(20);
        expect(Array.from(shared.subarray(2)), 'a value started after the end').to.deep.equal(starts);
        for (const count of starts) expect(count).to.be.at.most(1);
        if (how === 'complete') for (const count of starts) expect(count).to.equal(1);
        // A pool thread runs one task at a time; a loop thread runs up to `concurrency` at once.
        expect(Atomics.load(shared, 1)).to.be.at.most(via === 'pool' ? Math.min(concurrency, pool.size) : concurrency);
      }),
      { numRuns: runs },
    );
    record('exactly-once property runs', runs);
  });
});
