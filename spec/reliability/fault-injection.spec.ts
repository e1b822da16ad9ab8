// Randomised fault injection: concurrent streams and run() callers share a pool; their inputs are
// tiny (batched, proven tiny), long (blocking or not), throwing, crashing (process.exit), running out
// of memory, or move buffers; timeouts, signals and take(n) end some of them at random moments, and
// threads are replaced, their unstarted jobs moved or stolen. For every submission: one outcome at
// most and exactly one when its stream ran to the end, the right error class for what happened to
// it, no task started twice, nothing left pending, and no OS thread left once the pool is done.

import { expect } from 'chai';
import fc from 'fast-check';
import { from, type Observable, take } from 'rxjs';
import {
  AbortError,
  moduleTask,
  offloadToThread,
  type Settled,
  TaskError,
  ThreadPool,
  TimeoutError,
  WorkerCrashedError,
} from 'rxthreads';
import { fixture, osThreads, osThreadsDownTo, record, scale, settledEnd, within } from '../helpers';

type Kind = 'tiny' | 'spin' | 'sleep' | 'coop' | 'throw' | 'exit' | 'oom';
interface Item {
  kind: Kind;
  ms: number;
  transfer: boolean;
}
interface Submitter {
  via: 'stream' | 'run';
  /** Tiny inputs first, so that the task proves tiny and its results share messages. */
  warmUp: number;
  items: Item[];
  ordered: boolean;
  concurrency: number;
  timeout: number | undefined;
  /** Ms after the start at which its signal aborts, if it does. */
  abortAfter: number | undefined;
  /** A stream: unsubscribed after this many outputs (take), if it is. */
  take: number | undefined;
}
type Input = { sab: SharedArrayBuffer; id: number; kind: Kind; ms: number; bytes?: Uint8Array };

const act = moduleTask<Input, number>(fixture('faults.cjs'), 'act');

const item = fc.record<Item>({
  kind: fc.constantFrom<Kind>('tiny', 'tiny', 'spin', 'spin', 'sleep', 'coop', 'throw', 'exit', 'oom', 'oom'),
  // Short, or far past any timeout: a task near its timeout could land on either side.
  ms: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 150, max: 400 })),
  transfer: fc.boolean(),
});
const submitter = fc.record<Submitter>({
  via: fc.constantFrom('stream' as const, 'stream' as const, 'run' as const),
  warmUp: fc.constantFrom(0, 300, 600),
  items: fc.array(item, { minLength: 1, maxLength: 6 }),
  ordered: fc.boolean(),
  concurrency: fc.integer({ min: 1, max: 4 }),
  timeout: fc.option(fc.constantFrom(40, 80), { nil: undefined, freq: 1 }),
  abortAfter: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined, freq: 1 }),
  take: fc.option(fc.integer({ min: 0, max: 700 }), { nil: undefined, freq: 1 }),
});
const scenario = fc.record({
  size: fc.integer({ min: 1, max: 3 }),
  cancelGraceMs: fc.integer({ min: 5, max: 40 }),
  submitters: fc.array(submitter, { minLength: 1, maxLength: 4 }),
});

/** What became of one submission: its settlement, or nothing (its stream ended first). */
type Outcome = { status: 'fulfilled'; value: number } | { status: 'rejected'; reason: Error } | undefined;

/** Checks that a submission's outcome is one its plan allows. */
function checkOutcome(id: number, plan: Item & { timeout: number | undefined; cancelled: boolean }, outcome: Outcome) {
  if (outcome === undefined) return;
  const where = `input ${id} (${plan.kind}${plan.transfer ? ', moves a buffer' : ''})`;
  if (outcome.status === 'fulfilled') {
    expect(['tiny', 'spin', 'sleep', 'coop'], `${where} fulfilled`).to.include(plan.kind);
    expect(outcome.value, `${where} ran on a detached buffer or returned another's result`).to.equal(
      plan.transfer ? 32 : id,
    );
    return;
  }
  const error = outcome.reason;
  const what = `${where} failed with ${error?.name}: ${error?.message}`;
  if (error instanceof TaskError) {
    expect(plan.kind, what).to.equal('throw');
    expect(error.cause.name).to.equal('RangeError');
  } else if (error instanceof TimeoutError) {
    expect(plan.timeout, what).to.not.equal(undefined);
    expect(plan.kind, what).to.not.equal('tiny');
  } else if (error instanceof AbortError) {
    expect(plan.cancelled, what).to.equal(true);
  } else if (error instanceof WorkerCrashedError) {
    // Its own crash, or its thread was ended for another task's sake (and it says so).
    const own = plan.kind === 'exit' || plan.kind === 'oom';
    if (!own || !/died/.test(error.message)) expect(error.message, what).to.match(/ended because/);
    if (plan.kind === 'exit' && /died/.test(error.message)) expect(error.exitCode).to.equal(7);
  } else {
    expect.fail(what);
  }
}

describe('fault injection (property, randomised timing)', function () {
  // At soak scale on a loaded 2-core machine, 600 runs took 7 to over 10 minutes.
  this.timeout(scale(600_000, 3_600_000));
  const runs = scale(40, 600);
  const seed = Number(process.env.RXTHREADS_SEED ?? Date.now() % 2 ** 31);

  it(`gives every submission one outcome of the right class, starts no task twice and leaves nothing behind (seed ${seed})`, async () => {
    const baseline = osThreads();
    await fc.assert(
      fc.asyncProperty(scenario, async ({ size, cancelGraceMs, submitters }) => {
        const pool = new ThreadPool({ size, cancelGraceMs, resourceLimits: { maxOldGenerationSizeMb: 32 } });
        const total = submitters.reduce((n, s) => n + s.warmUp + s.items.length, 0);
        const sab = new SharedArrayBuffer(4 * total);
        const starts = new Int32Array(sab);
        const plans: (Item & { timeout: number | undefined; cancelled: boolean })[] = [];
        const outcomes: Outcome[] = [];
        try {
          const finished = submitters.map((s) => {
            const ac = s.abortAfter === undefined ? undefined : new AbortController();
            if (ac !== undefined) setTimeout(() => ac.abort(), s.abortAfter);
            const items: Item[] = [
              ...Array.from({ length: s.warmUp }, (): Item => ({ kind: 'tiny', ms: 0, transfer: false })),
              ...s.items,
            ];
            const inputs = items.map((it): Input => {
              const id = plans.length;
              plans.push({ ...it, timeout: s.timeout, cancelled: ac !== undefined });
              outcomes.push(undefined);
              return { sab, id, kind: it.kind, ms: it.ms, ...(it.transfer && { bytes: new Uint8Array(32) }) };
            });
            const transfer = (input: Input) => (input.bytes === undefined ? [] : [input.bytes.buffer]);
            if (s.via === 'run') {
              return Promise.all(
                inputs.map((input) =>
                  pool
                    .run(act, input, { signal: ac?.signal, timeout: s.timeout, transfer: transfer(input) })
                    .then(
                      (value) => ({ status: 'fulfilled' as const, value }),
                      (reason: Error) => ({ status: 'rejected' as const, reason }),
                    )
                    .then((outcome) => {
                      expect(outcomes[input.id], `run ${input.id} settled twice`).to.equal(undefined);
                      outcomes[input.id] = outcome;
                    }),
                ),
              ).then(() => 'complete');
            }
            let out$: Observable<Settled<Input, number>> = from(inputs).pipe(
              offloadToThread(act, {
                pool,
                ordered: s.ordered,
                concurrency: s.concurrency,
                timeout: s.timeout,
                signal: ac?.signal,
                transfer,
                settle: true,
              }),
            );
            if (s.take !== undefined) out$ = out$.pipe(take(s.take));
            return settledEnd(
              out$,
              (entry) => {
                const id = entry.input.id;
                expect(outcomes[id], `input ${id} emitted twice`).to.equal(undefined);
                outcomes[id] =
                  entry.status === 'fulfilled'
                    ? { status: 'fulfilled', value: entry.value }
                    : { status: 'rejected', reason: entry.reason };
              },
              s.take !== undefined && s.take < inputs.length,
              () => {
                for (const input of inputs)
                  expect(outcomes[input.id], `input ${input.id} has no outcome`).to.not.equal(undefined);
              },
            );
          });
          for (const ended of await Promise.all(finished.map((f) => within(f, 20_000)))) {
            expect(ended, 'a submitter was left pending').to.not.equal('pending');
          }
          plans.forEach((plan, id) => {
            expect(Atomics.load(starts, id), `input ${id} (${plan.kind}) started twice`).to.be.at.most(1);
            checkOutcome(id, plan, outcomes[id]);
          });
        } finally {
          await pool.terminate();
        }
        await osThreadsDownTo(baseline, 5_000);
      }),
      { numRuns: runs, seed, endOnFailure: true },
    );
    record('fault-injection property runs', runs);
  });
});
