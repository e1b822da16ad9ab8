// Jobs of several values: once a stream's task proves tiny, a pool sends its consecutive values
// several to a job. Each value must still behave as a job of its own: one outcome each, in order
// when asked, started at most once when a thread dies in the middle of a job (those after the
// culprit run on the new thread), stopped before its next value by an unsubscribe, streaming when
// its task returns a generator. The same holds for `run()` calls that share jobs, and a call with a
// signal never shares one. The fixture logs every start to a file, across threads.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { from, lastValueFrom, type Observable, take, toArray } from 'rxjs';
import {
  AbortError,
  moduleTask,
  offloadToThread,
  type Settled,
  TaskError,
  ThreadPool,
  WorkerCrashedError,
} from 'rxthreads';
import { fixture, record, scale, settledEnd, within } from '../helpers';

const act = moduleTask<number, number>(fixture('numbered.cjs'), 'act');
/** `act` as a task that cannot reach its context: its values run without one. */
const actBare = moduleTask<number, number>(fixture('numbered.cjs'), 'actBare');
const Kind = { tiny: 0, throw: 1, exit: 2, spin: 3, gen: 4, async: 5, oom: 6, untilCancelled: 7 } as const;
type KindName = keyof typeof Kind;

/**
 * Counts what the engine packs into jobs of several: a stream's values (`Backlog.takeValues`) and
 * `run()` calls (`Group.bundle`), in the build the specs load: proof that a spec exercised them,
 * which nothing public shows.
 */
function countValuesPerJob(): { readonly values: number; readonly calls: number; restore(): void } {
  const dist = dirname(require.resolve('rxthreads'));
  const { Backlog } = require(join(dist, 'lib/engine/backlog.js'));
  const { Group } = require(join(dist, 'lib/engine/job.js'));
  const takeValues = Backlog.prototype.takeValues;
  const bundle = Group.prototype.bundle;
  const counter = {
    values: 0,
    calls: 0,
    restore: () => {
      Backlog.prototype.takeValues = takeValues;
      Group.prototype.bundle = bundle;
    },
  };
  Backlog.prototype.takeValues = function (this: unknown, ...args: unknown[]) {
    const made = takeValues.apply(this, args);
    if (made !== undefined) counter.values += made.values;
    return made;
  };
  Group.prototype.bundle = function (this: unknown, ...args: unknown[]) {
    const made = bundle.apply(this, args);
    if (made !== undefined) counter.calls += made.values;
    return made;
  };
  return counter;
}

/** Counts results a stream took several at once (`Run.settleRun`), in the build the specs load. */
function countResultRuns(): { readonly results: number; restore(): void } {
  const { Run } = require(join(dirname(require.resolve('rxthreads')), 'lib/stream/run.js'));
  const settleRun = Run.prototype.settleRun;
  const counter = {
    results: 0,
    restore: () => {
      Run.prototype.settleRun = settleRun;
    },
  };
  Run.prototype.settleRun = function (this: unknown, ...args: unknown[]) {
    const took = settleRun.apply(this, args);
    counter.results += took;
    return took;
  };
  return counter;
}

/** A file the fixture's threads append each start to, and the ids that started more than once. */
function startLog() {
  const dir = mkdtempSync(join(tmpdir(), 'rxthreads-starts-'));
  const file = join(dir, 'starts');
  writeFileSync(file, '');
  return {
    file,
    counts(): Map<number, number> {
      const counts = new Map<number, number>();
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line !== '') counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
      }
      return counts;
    },
    twice(): number[] {
      return [...this.counts()].flatMap(([id, n]) => (n > 1 ? [id] : []));
    },
    expectEachStartedOnce(ids: readonly number[]): void {
      const counts = this.counts();
      expect(this.twice(), 'values that started twice').to.deep.equal([]);
      expect(
        ids.filter((id) => counts.get(id) !== 1),
        'values that never started',
      ).to.deep.equal([]);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const input = (id: number, kind: KindName = 'tiny') => id * 8 + Kind[kind];

/** Every outcome is its id's value, but the culprit's: its thread died by its process.exit(7). */
function expectOnlyCulpritCrashed(
  outcomes: readonly { status: string; value?: unknown; reason?: unknown }[],
  culprit: number,
): void {
  for (const [id, outcome] of outcomes.entries()) {
    if (id === culprit) {
      expect(outcome.status).to.equal('rejected');
      expect(outcome.reason).to.be.instanceOf(WorkerCrashedError);
      expect((outcome.reason as WorkerCrashedError).exitCode).to.equal(7);
    } else {
      expect(outcome, `input ${id}`).to.deep.include({ status: 'fulfilled', value: id });
    }
  }
}

/** Waits until a thread has done what `seen` looks for in its log (polled: threads write a file). */
async function until(seen: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!seen()) {
    if (Date.now() - start > timeoutMs) throw new Error('the thread never got there');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('jobs of several values (exactly once)', function () {
  this.timeout(scale(60_000, 3_600_000));
  let pool: ThreadPool | undefined;
  let log: ReturnType<typeof startLog>;
  let counter: ReturnType<typeof countValuesPerJob>;
  beforeEach(() => {
    log = startLog();
    counter = countValuesPerJob();
  });
  afterEach(async () => {
    counter.restore();
    await pool?.terminate();
    log.remove();
  });

  it('sends tiny values several to a job, and each still gets its own outcome, in order', async () => {
    pool = new ThreadPool({ size: 2, env: { RXTHREADS_STARTS: log.file } });
    const ids = Array.from({ length: 5000 }, (_, id) => id);
    const out = await lastValueFrom(from(ids.map((id) => input(id))).pipe(offloadToThread(act, { pool }), toArray()));
    expect(out).to.deep.equal(ids);
    expect(counter.values, 'values sent several to a job').to.be.greaterThan(1000);
    expect(log.twice()).to.deep.equal([]);
  });

  it('fails only the value whose task ended its thread: the values after it run on the new thread, none twice', async () => {
    pool = new ThreadPool({ size: 1, env: { RXTHREADS_STARTS: log.file } });
    const culprit = 3000;
    const ids = Array.from({ length: 4000 }, (_, id) => id);
    const out = await lastValueFrom(
      from(ids.map((id) => input(id, id === culprit ? 'exit' : 'tiny'))).pipe(
        offloadToThread(act, { pool, settle: true }),
        toArray(),
      ),
    );
    expect(counter.values, 'values sent several to a job').to.be.greaterThan(1000);
    expect(out.map((entry) => entry.input)).to.deep.equal(ids.map((id) => input(id, id === culprit ? 'exit' : 'tiny')));
    expectOnlyCulpritCrashed(out, culprit);
    log.expectEachStartedOnce(ids);
  });

  it('never starts the next value of a job of several once its stream is cancelled', async () => {
    pool = new ThreadPool({ size: 1, env: { RXTHREADS_STARTS: log.file } });
    // One thread: values start strictly in order. The value at `blocker` runs until it sees its
    // cancel (in shared memory); the values after it in its job, and in the jobs behind, must not start.
    const blocker = 3000;
    const ids = Array.from({ length: 4000 }, (_, id) => id);
    const ac = new AbortController();
    const done = lastValueFrom(
      from(ids.map((id) => input(id, id === blocker ? 'untilCancelled' : 'tiny'))).pipe(
        offloadToThread(act, { pool, signal: ac.signal }),
        toArray(),
      ),
    ).then(
      () => 'completed',
      (error: Error) => error,
    );
    await until(() => log.counts().has(blocker));
    expect(counter.values, 'values sent several to a job').to.be.greaterThan(1000);
    ac.abort();
    expect(await done).to.be.instanceOf(AbortError);
    await pool.close();
    const started = [...log.counts().keys()].sort((a, b) => a - b);
    expect(started).to.deep.equal(ids.slice(0, blocker + 1));
  });

  it('takes the results a message brings of a job together, each once, in order, whatever stops the stream among them', async () => {
    const runs = countResultRuns();
    try {
      pool = new ThreadPool({ size: 2, env: { RXTHREADS_STARTS: log.file } });
      const ids = Array.from({ length: 6000 }, (_, id) => id);
      const stream = (options: { ordered?: boolean }) =>
        from(ids.map((id) => input(id))).pipe(offloadToThread(act, { pool, ...options }));
      expect(await lastValueFrom(stream({}).pipe(toArray()))).to.deep.equal(ids);
      const unordered = await lastValueFrom(stream({ ordered: false }).pipe(toArray()));
      expect(unordered.sort((a, b) => a - b)).to.deep.equal(ids);
      const settled = await lastValueFrom(
        from(ids.map((id) => input(id))).pipe(offloadToThread(act, { pool, settle: true }), toArray()),
      );
      expect(settled.map((entry) => entry.status === 'fulfilled' && entry.value)).to.deep.equal(ids);
      // take() unsubscribes from inside the emission of a value in the middle of a run of results.
      for (const n of [1, 777, 4001]) {
        expect(await lastValueFrom(stream({}).pipe(take(n), toArray()))).to.deep.equal(ids.slice(0, n));
        const some = await lastValueFrom(stream({ ordered: false }).pipe(take(n), toArray()));
        expect(new Set(some).size).to.equal(n);
      }
      expect(runs.results, 'results taken together').to.be.greaterThan(10_000);
    } finally {
      runs.restore();
    }
  });

  it('runs the values of a task that cannot reach its context without one, and still hands one to a task that can', async () => {
    pool = new ThreadPool({ size: 2, env: { RXTHREADS_STARTS: log.file } });
    const ids = Array.from({ length: 5000 }, (_, id) => id);
    const inputs = ids.map((id) => input(id, id % 500 === 7 ? 'async' : id % 700 === 9 ? 'gen' : 'tiny'));
    expect(await lastValueFrom(from(inputs).pipe(offloadToThread(actBare, { pool }), toArray()))).to.deep.equal(ids);
    // Ids of their own, so that the log tells a start twice from the first stream's.
    const later = ids.map((id) => id + ids.length);
    const throws = await lastValueFrom(
      from(later.map((id) => input(id, id % 1000 === 999 ? 'throw' : 'tiny'))).pipe(
        offloadToThread(actBare, { pool, settle: true }),
        toArray(),
      ),
    );
    for (const [n, entry] of throws.entries()) {
      const id = later[n]!;
      if (id % 1000 === 999) expect((entry as { reason?: unknown }).reason, `input ${id}`).to.be.instanceOf(TaskError);
      else expect(entry, `input ${id}`).to.deep.include({ status: 'fulfilled', value: id });
    }
    expect(counter.values, 'values sent several to a job').to.be.greaterThan(2000);
    expect(log.twice()).to.deep.equal([]);
    // Each reaches its context only in a way the check must see: every value gets it.
    const reaching = [
      (x: number, ...rest: { threadId: number }[]) => x * 0 + rest[0]!.threadId,
      function (this: unknown, x: number) {
        // biome-ignore lint/complexity/noArguments: the very case: a task that reads its context through arguments
        return x * 0 + (arguments[1] as { threadId: number }).threadId;
      },
      (x: number, ctx: { threadId: number } = { threadId: -1 }) => x * 0 + ctx.threadId,
    ];
    for (const task of reaching) {
      const threadIds = await lastValueFrom(from(ids).pipe(offloadToThread(task, { pool }), toArray()));
      expect(
        threadIds.every((id) => id > 0),
        String(task),
      ).to.equal(true);
    }
  });

  it('streams a value whose task returns a generator from within a job of several', async () => {
    pool = new ThreadPool({ size: 2, env: { RXTHREADS_STARTS: log.file } });
    const ids = Array.from({ length: 3000 }, (_, id) => id);
    const out = await lastValueFrom(
      from(ids.map((id) => input(id, id % 1000 === 999 ? 'gen' : id % 300 === 3 ? 'async' : 'tiny'))).pipe(
        offloadToThread(act, { pool }),
        toArray(),
      ),
    );
    expect(out).to.deep.equal(ids);
    expect(counter.values, 'values sent several to a job').to.be.greaterThan(500);
    expect(log.twice()).to.deep.equal([]);
  });

  it('sends run() calls of a tiny task several to a job, each settling its own promise', async () => {
    pool = new ThreadPool({ size: 2, env: { RXTHREADS_STARTS: log.file } });
    const ids = Array.from({ length: 6000 }, (_, id) => id);
    const out = await Promise.all(ids.map((id) => pool!.run(act, input(id))));
    expect(out).to.deep.equal(ids);
    expect(counter.calls, 'calls sent several to a job').to.be.greaterThan(1000);
    expect(log.twice()).to.deep.equal([]);
  });

  it('sends the run() calls of one turn of a task measured tiny several to a job, though the threads have room for each alone', async () => {
    pool = new ThreadPool({ size: 2, env: { RXTHREADS_STARTS: log.file } });
    // A burst to measure the task, then bursts of 300 calls: far fewer than the values a thread is
    // given ahead, so that every call could go as a job of its own.
    await Promise.all(Array.from({ length: 2000 }, (_, id) => pool!.run(act, input(id))));
    const before = counter.calls;
    const ids = Array.from({ length: 300 }, (_, id) => 10_000 + id);
    for (let burst = 0; burst < 5; burst++) {
      expect(await Promise.all(ids.map((id) => pool!.run(act, input(id))))).to.deep.equal(ids);
    }
    // Placed at once, each call went alone while the threads had room (334 of 1,500 shared jobs).
    // On a loaded machine a few calls measure slower than tiny and go alone (1,310 in one CI run).
    expect(counter.calls - before, 'calls sent several to a job').to.be.greaterThan(1000);
  });

  it('fails only the run() call whose task ended its thread: the calls after it in its job run on the new thread, none twice', async () => {
    pool = new ThreadPool({ size: 1, env: { RXTHREADS_STARTS: log.file } });
    const culprit = 4000;
    const ids = Array.from({ length: 5000 }, (_, id) => id);
    // Calls made in a burst: the first ones prove the task tiny, the rest queue up and share jobs.
    const outcomes = await Promise.allSettled(
      ids.map((id) => pool!.run(act, input(id, id === culprit ? 'exit' : 'tiny'))),
    );
    expect(counter.calls, 'calls sent several to a job').to.be.greaterThan(1000);
    expectOnlyCulpritCrashed(outcomes, culprit);
    log.expectEachStartedOnce(ids);
  });

  it('never puts a run() call that has a signal in a job with others: aborting it cancels it alone', async () => {
    pool = new ThreadPool({ size: 1, env: { RXTHREADS_STARTS: log.file } });
    // A burst of calls: those the thread cannot take yet queue up and go several to a job. The call
    // before the one with a signal blocks the thread for 30 ms: the abort comes while the call with
    // the signal waits on the thread, where a job of several would start it regardless.
    const blocker = 3299;
    const withSignal = 3300;
    const ac = new AbortController();
    const ids = Array.from({ length: 6000 }, (_, id) => id);
    const calls = ids.map((id) =>
      pool!.run(
        act,
        input(id, id === blocker ? 'spin' : 'tiny'),
        id === withSignal ? { signal: ac.signal } : undefined,
      ),
    );
    await until(() => log.counts().has(blocker));
    ac.abort();
    const outcomes = await Promise.allSettled(calls);
    expect(counter.calls, 'calls sent several to a job').to.be.greaterThan(1000);
    for (const [id, outcome] of outcomes.entries()) {
      if (id === withSignal) expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(AbortError);
      else expect(outcome, `call ${id}`).to.deep.equal({ status: 'fulfilled', value: id });
    }
    expect(log.counts().has(withSignal), 'the aborted call started').to.equal(false);
    expect(log.twice()).to.deep.equal([]);
  });

  it('runs the inputs of a group cancelled together (a remote job) several to a job, and starts none after its cancel', async () => {
    pool = new ThreadPool({ size: 1, env: { RXTHREADS_STARTS: log.file } });
    const { submitGroup } = require(join(dirname(require.resolve('rxthreads')), 'lib/owners/submit.js'));
    const { threadEngineOf } = require(join(dirname(require.resolve('rxthreads')), 'lib/owners/owner.js'));
    const blocker = 3000;
    const ids = Array.from({ length: 4000 }, (_, id) => id);
    const { runs, cancel }: { runs: Promise<number>[]; cancel: (reason: Error) => void } = submitGroup(
      threadEngineOf(pool),
      act,
      ids.map((id) => input(id, id === blocker ? 'untilCancelled' : 'tiny')),
      {},
    );
    const outcomes = Promise.allSettled(runs);
    await until(() => log.counts().has(blocker));
    expect(counter.calls, 'inputs sent several to a job').to.be.greaterThan(1000);
    cancel(new AbortError());
    // Those before the blocker ran; the outcomes the thread had not sent yet when the cancel came
    // are dropped with the rest (AbortError), as a cancelled stream's are.
    let fulfilled = 0;
    for (const [id, outcome] of (await outcomes).entries()) {
      if (outcome.status === 'fulfilled' && id < blocker) {
        expect(outcome.value, `input ${id}`).to.equal(id);
        fulfilled++;
      } else expect((outcome as PromiseRejectedResult).reason, `input ${id}`).to.be.instanceOf(AbortError);
    }
    expect(fulfilled).to.be.greaterThan(2000);
    await pool.close();
    expect([...log.counts().keys()].sort((a, b) => a - b)).to.deep.equal(ids.slice(0, blocker + 1));
    expect(log.twice()).to.deep.equal([]);
  });

  it('gives every value one outcome of the right class and starts none twice, whatever fails (property)', async () => {
    counter.restore();
    const runs = scale(25, 300);
    const seed = Number(process.env.RXTHREADS_SEED ?? Date.now() % 2 ** 31);
    let packed = 0;
    const kind = fc.constantFrom<KindName>(
      ...Array<KindName>(12).fill('tiny'),
      'throw',
      'exit',
      'spin',
      'gen',
      'async',
      'oom',
    );
    const stream = fc.record({
      via: fc.constantFrom('stream' as const, 'stream' as const, 'run' as const),
      bare: fc.boolean(),
      warmUp: fc.constantFrom(300, 600),
      items: fc.array(kind, { minLength: 1, maxLength: 80 }),
      ordered: fc.boolean(),
      concurrency: fc.integer({ min: 1, max: 4 }),
      abortAfter: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined, freq: 1 }),
      take: fc.option(fc.integer({ min: 0, max: 700 }), { nil: undefined, freq: 1 }),
    });
    const scenario = fc.record({
      size: fc.integer({ min: 1, max: 3 }),
      cancelGraceMs: fc.integer({ min: 5, max: 40 }),
      streams: fc.array(stream, { minLength: 1, maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ size, cancelGraceMs, streams }) => {
        const runLog = startLog();
        const runCounter = countValuesPerJob();
        const runPool = new ThreadPool({
          size,
          cancelGraceMs,
          env: { RXTHREADS_STARTS: runLog.file },
          resourceLimits: { maxOldGenerationSizeMb: 32 },
        });
        const kinds: KindName[] = [];
        const viaRun: boolean[] = [];
        const cancelled: boolean[] = [];
        const outcomes: (Settled<number, number> | undefined)[] = [];
        const twice: number[] = [];
        const settleCall = (value: number, outcome: Settled<number, number>) => {
          const id = Math.floor(value / 8);
          if (outcomes[id] !== undefined) twice.push(id);
          outcomes[id] = outcome;
        };
        try {
          const ended = streams.map((plan) => {
            const ac = plan.abortAfter === undefined ? undefined : new AbortController();
            if (ac !== undefined) setTimeout(() => ac.abort(), plan.abortAfter);
            const inputs = [...Array<KindName>(plan.warmUp).fill('tiny'), ...plan.items].map((k) => {
              kinds.push(k);
              viaRun.push(plan.via === 'run');
              cancelled.push(ac !== undefined);
              outcomes.push(undefined);
              return input(kinds.length - 1, k);
            });
            if (plan.via === 'run') {
              // run() calls made at once: the first prove the task tiny, the rest queue and share jobs.
              return Promise.all(
                inputs.map((value) =>
                  runPool
                    .run(plan.bare ? actBare : act, value, ac === undefined ? undefined : { signal: ac.signal })
                    .then(
                      (result) => settleCall(value, { status: 'fulfilled', value: result, input: value }),
                      (reason: Error) => settleCall(value, { status: 'rejected', reason, input: value }),
                    ),
                ),
              ).then(() => 'complete');
            }
            let out$: Observable<Settled<number, number>> = from(inputs).pipe(
              offloadToThread(plan.bare ? actBare : act, {
                pool: runPool,
                ordered: plan.ordered,
                concurrency: plan.concurrency,
                signal: ac?.signal,
                settle: true,
              }),
            );
            if (plan.take !== undefined) out$ = out$.pipe(take(plan.take));
            return settledEnd(
              out$,
              (entry) => {
                const id = Math.floor(entry.input / 8);
                const first = outcomes[id];
                // A stream's values go out as it yields them: if its end is lost with its thread, the
                // value it yielded is followed by its failure.
                const streamThenFailure =
                  kinds[id] === 'gen' && first?.status === 'fulfilled' && entry.status === 'rejected';
                if (first !== undefined && !streamThenFailure) twice.push(id);
                outcomes[id] = entry;
              },
              plan.take !== undefined && plan.take < inputs.length,
              () => {
                for (const value of inputs) {
                  const id = Math.floor(value / 8);
                  expect(outcomes[id], `input ${id} has no outcome`).to.not.equal(undefined);
                }
              },
            );
          });
          for (const how of await Promise.all(ended.map((e) => within(e, 20_000)))) {
            expect(how, 'a stream was left pending').to.not.equal('pending');
          }
          await runPool.terminate();
          expect(
            twice.map((id) => `${id} (${kinds[id]})`),
            'values emitted twice',
          ).to.deep.equal([]);
          expect(runLog.twice(), 'values that started twice').to.deep.equal([]);
          outcomes.forEach((entry, id) => {
            if (entry === undefined) return;
            const k = kinds[id]!;
            const where = `input ${id} (${k})`;
            if (entry.status === 'fulfilled') {
              expect(['tiny', 'spin', 'gen', 'async'], `${where} fulfilled`).to.include(k);
              expect(entry.value, `${where} returned another's result`).to.equal(id);
              return;
            }
            const error = entry.reason as Error;
            const what = `${where} failed with ${error.name}: ${error.message}`;
            if (error instanceof TaskError) {
              expect(k, what).to.equal('throw');
            } else if (error instanceof WorkerCrashedError) {
              // Its own crash, or its thread was ended for another value's sake (and it says so).
              if (!(k === 'exit' || k === 'oom') || !/died/.test(error.message)) {
                expect(error.message, what).to.match(/ended because/);
              }
            } else if (error instanceof AbortError) {
              expect(cancelled[id], what).to.equal(true);
            } else if (error instanceof TypeError && /generator function/.test(error.message)) {
              // run() takes one value: a task that streams is refused, its body never started.
              expect(k === 'gen' && viaRun[id], what).to.equal(true);
            } else {
              expect.fail(what);
            }
          });
        } finally {
          packed += runCounter.values + runCounter.calls;
          runCounter.restore();
          await runPool.terminate();
          runLog.remove();
        }
      }),
      { numRuns: runs, seed, endOnFailure: true },
    );
    expect(packed, 'values sent several to a job, over all runs').to.be.greaterThan(runs * 100);
    record('jobs-of-several-values property runs', runs);
  });
});
