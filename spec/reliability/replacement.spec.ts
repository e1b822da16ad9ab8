import { expect } from 'chai';
import { from, lastValueFrom, toArray } from 'rxjs';
import { moduleTask, offloadToThread, type Settled, ThreadPool, TimeoutError, WorkerCrashedError } from 'rxthreads';
import { fixture } from '../helpers';

type Input = { sab: SharedArrayBuffer; i: number; spin?: number; exit?: number; oom?: boolean };
const tiny = moduleTask<Input, number>(fixture('faults.cjs'), 'tiny');

/** `n` inputs counting their starts in one shared buffer; `special` adds fields to some of them. */
function inputs(n: number, special: (i: number) => Partial<Input> = () => ({})) {
  const sab = new SharedArrayBuffer(4 * n);
  const runs = new Int32Array(sab);
  return { runs, values: Array.from({ length: n }, (_, i): Input => ({ sab, i, ...special(i) })) };
}

function twice(runs: Int32Array): number[] {
  return [...runs].flatMap((count, i) => (count > 1 ? [i] : []));
}

describe('a replaced thread (exactly once)', function () {
  this.timeout(30_000);
  let pool: ThreadPool;
  afterEach(() => pool.terminate());

  for (const size of [1, 2]) {
    it(`never re-runs the finished tasks of a batch when a batch-mate times out (${size} thread(s))`, async () => {
      pool = new ThreadPool({ size, cancelGraceMs: 20 });
      const culprit = 1500;
      const { runs, values } = inputs(3000, (i) => (i === culprit ? { spin: 60_000 } : {}));
      const out = await lastValueFrom(
        from(values).pipe(offloadToThread(tiny, { pool, timeout: 200, settle: true, ordered: false }), toArray()),
      );
      expect(twice(runs), 'inputs that started twice').to.deep.equal([]);
      expect(out).to.have.length(3000);
      for (const entry of out) {
        if (entry.input.i === culprit) {
          expect(entry.status).to.equal('rejected');
          expect((entry as { reason: Error }).reason).to.be.instanceOf(TimeoutError);
        } else {
          expect(entry, `input ${entry.input.i}`).to.deep.include({ status: 'fulfilled', value: entry.input.i });
        }
      }
    });
  }

  it("delivers another subscription's finished results when a task of the same thread times out", async () => {
    pool = new ThreadPool({ size: 1, cancelGraceMs: 20 });
    const a = inputs(400, (i) => (i === 300 ? { spin: 60_000 } : {}));
    const b = inputs(3000);
    const [outA, outB] = await Promise.all([
      lastValueFrom(from(a.values).pipe(offloadToThread(tiny, { pool, timeout: 200, settle: true }), toArray())),
      lastValueFrom(from(b.values).pipe(offloadToThread(tiny, { pool }), toArray())),
    ]);
    expect(twice(a.runs)).to.deep.equal([]);
    expect(twice(b.runs)).to.deep.equal([]);
    expect(outB).to.deep.equal(b.values.map((v) => v.i));
    const rejected = outA.filter((entry) => entry.status === 'rejected') as Extract<
      Settled<Input, number>,
      { status: 'rejected' }
    >[];
    expect(rejected.map((entry) => [entry.input.i, entry.reason.name])).to.deep.equal([[300, 'TimeoutError']]);
  });

  it('never re-runs a finished run() call when a run() of the same thread times out', async () => {
    pool = new ThreadPool({ size: 1, cancelGraceMs: 20 });
    const { runs, values } = inputs(2000, (i) => (i === 1000 ? { spin: 60_000 } : {}));
    const settled = await Promise.allSettled(values.map((v) => pool.run(tiny, v, { timeout: 300 })));
    expect(twice(runs)).to.deep.equal([]);
    settled.forEach((outcome, i) => {
      if (i === 1000) expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(TimeoutError);
      else expect(outcome, `run ${i}`).to.deep.equal({ status: 'fulfilled', value: i });
    });
  });

  it('never re-runs a finished task when a cancelled batch-mate overruns cancelGraceMs; other subscriptions get one outcome each', async () => {
    pool = new ThreadPool({ size: 1, cancelGraceMs: 20 });
    // Subscription A: tiny values, then one that blocks its thread and ignores the cancel.
    const a = inputs(400, (i) => (i === 300 ? { spin: 60_000 } : {}));
    const b = inputs(3000);
    const stop = new AbortController();
    const outA = lastValueFrom(from(a.values).pipe(offloadToThread(tiny, { pool, signal: stop.signal }), toArray()));
    const outB = lastValueFrom(from(b.values).pipe(offloadToThread(tiny, { pool, settle: true }), toArray()));
    // Once the blocking task has started, A is cancelled: 20 ms later its thread is ended.
    while (Atomics.load(a.runs, 300) === 0) await Atomics.waitAsync(a.runs, 300, 0, 10).value;
    stop.abort();
    await outA.then(
      () => expect.fail('A completed'),
      (error) => expect(error.name).to.equal('AbortError'),
    );
    const entries = await outB;
    expect(twice(a.runs)).to.deep.equal([]);
    expect(twice(b.runs)).to.deep.equal([]);
    expect(entries).to.have.length(3000);
    for (const entry of entries) {
      if (entry.status === 'fulfilled') {
        expect(entry.value).to.equal(entry.input.i);
        continue;
      }
      // A result the thread still held when it was ended cannot be re-run: it fails, saying why.
      expect(entry.reason).to.be.instanceOf(WorkerCrashedError);
      expect(entry.reason.message).to.match(
        /ended because task faults\.cjs#tiny \(input #300\) was cancelled and did not stop within cancelGraceMs/,
      );
      expect(b.runs[entry.input.i]).to.equal(1);
    }
  });

  it('never starts a value its stream cancelled while the value was taken back from its crashed thread', async () => {
    // Pool of 1, concurrency 1: value 0 ends its thread; value 1, handed to that thread ahead of
    // time, is taken back to be moved while the stream errors and cancels it. It must never start
    // (it ignores its signal, and would hold the new thread for ever).
    pool = new ThreadPool({ size: 1, cancelGraceMs: 50 });
    type Act = { sab: SharedArrayBuffer; id: number; kind: string; ms: number };
    const act = moduleTask<Act, number>(fixture('faults.cjs'), 'act');
    const sab = new SharedArrayBuffer(12);
    const runs = new Int32Array(sab);
    const error = await lastValueFrom(
      from([
        { sab, id: 0, kind: 'exit', ms: 0 },
        { sab, id: 1, kind: 'sleep', ms: 60_000 },
      ]).pipe(offloadToThread(act, { pool, concurrency: 1 })),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkerCrashedError);
    expect(await pool.run(act, { sab, id: 2, kind: 'tiny', ms: 0 })).to.equal(2); // the new thread is free
    expect(runs[1], 'starts of the cancelled value').to.equal(0);
    await pool.close(); // nothing of the stream holds it
  });

  it('never re-runs a finished task of a thread that runs out of memory', async () => {
    pool = new ThreadPool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    const { runs, values } = inputs(2000, (i) => (i === 1000 ? { oom: true } : {}));
    const out = await lastValueFrom(from(values).pipe(offloadToThread(tiny, { pool, settle: true }), toArray()));
    expect(twice(runs)).to.deep.equal([]);
    for (const entry of out) {
      if (entry.input.i === 1000) expect((entry as { reason: Error }).reason).to.be.instanceOf(WorkerCrashedError);
      else if (entry.status === 'rejected') {
        expect(entry.reason).to.be.instanceOf(WorkerCrashedError);
        expect(entry.reason.message).to.match(/ended because .* out of memory/);
      } else expect(entry.value).to.equal(entry.input.i);
    }
  });
});
