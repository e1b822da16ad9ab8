import { expect } from 'chai';
import fc from 'fast-check';
import { from } from 'rxjs';
import { EventLoopThread, moduleTask, offloadToThread, runOnLoop, TaskError, ThreadPool } from 'rxthreads';
import { fixture, grace, observe, record, scale } from '../helpers';

type Probe = { sab: SharedArrayBuffer; i: number; count: number; sync: boolean; failAfter: number };
const probeStream = moduleTask<Probe, Generator<number> | AsyncGenerator<number>>(
  fixture('streams.cjs'),
  'probeStream',
);

const scenario = fc.record({
  inputs: fc.array(fc.record({ count: fc.nat({ max: 6 }), sync: fc.boolean() }), { maxLength: 12 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  ordered: fc.boolean(),
  fail: fc.option(fc.record({ at: fc.nat({ max: 12 }), after: fc.nat({ max: 6 }) }), { nil: undefined }),
  stopAfter: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
  via: fc.constantFrom('pool' as const, 'loop' as const),
});

describe('streaming exactly once (property)', function () {
  this.timeout(120_000);
  let pool: ThreadPool;
  let loop: EventLoopThread;
  before(() => {
    pool = new ThreadPool({ size: 2, cancelGraceMs: 200 });
    loop = new EventLoopThread();
  });
  after(() => Promise.all([pool.terminate(), loop.terminate()]));

  const runs = scale(100, 1000);
  it('emits each yielded value exactly once, in order within an input (and across inputs when ordered), and closes every generator', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ inputs, concurrency, ordered, fail, stopAfter, via }) => {
        const n = inputs.length;
        const sab = new SharedArrayBuffer((1 + n) * 4);
        const shared = new Int32Array(sab);
        const failing = fail !== undefined && fail.at < n && fail.after <= inputs[fail.at]!.count ? fail : undefined;
        const probes: Probe[] = inputs.map((input, i) => ({
          sab,
          i,
          count: input.count,
          sync: input.sync,
          failAfter: failing?.at === i ? failing.after : -1,
        }));
        const out$ = from(probes).pipe(
          via === 'pool'
            ? offloadToThread(probeStream, { pool, concurrency, ordered })
            : runOnLoop(loop, probeStream, { concurrency, ordered }),
        );
        const { outputs, error, how } = await observe(out$, stopAfter);

        expect(new Set(outputs).size, 'a value emitted twice').to.equal(outputs.length);
        const byInput = new Map<number, number[]>();
        for (const value of outputs) {
          const i = Math.floor(value / 100);
          const j = value % 100;
          expect(i).to.be.within(0, n - 1);
          expect(j).to.be.below(failing?.at === i ? failing.after : probes[i]!.count);
          byInput.set(i, [...(byInput.get(i) ?? []), j]);
        }
        for (const js of byInput.values()) expect(js).to.deep.equal(js.map((_, k) => k)); // in order, from 0
        if (ordered) expect(outputs).to.deep.equal([...outputs].sort((a, b) => a - b));
        if (how === 'complete') {
          expect(failing).to.equal(undefined);
          const all = probes.flatMap((probe) => Array.from({ length: probe.count }, (_, j) => probe.i * 100 + j));
          expect([...outputs].sort((a, b) => a - b)).to.deep.equal(all);
        }
        if (how === 'error') expect(error).to.be.instanceOf(TaskError);
        if (how === 'unsubscribed') expect(outputs.length).to.equal(stopAfter);

        // Every generator body that started has run its finally, and no task starts after the end.
        // A task the thread started just as the cancel came counts as started before the end: its
        // slot stays busy until the thread has answered for it, so wait for the owner's word too.
        const owner = via === 'pool' ? pool : loop;
        const open = () => Atomics.load(shared, 0) > 0 || owner.stats().busy > 0;
        const deadline = Date.now() + 2_000;
        while (open() && Date.now() < deadline) await grace(5);
        expect(Atomics.load(shared, 0), 'generators still open after the end').to.equal(0);
        expect(owner.stats().busy, 'tasks still running after the end').to.equal(0);
        const starts = Array.from(shared.subarray(1));
        await grace(10);
        expect(Array.from(shared.subarray(1)), 'a task started after the end').to.deep.equal(starts);
        for (const count of starts) expect(count).to.be.at.most(1);
      }),
      { numRuns: runs },
    );
    record('streaming exactly-once property runs', runs);
  });
});
