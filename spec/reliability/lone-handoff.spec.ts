// A lone value's outcome may come back in shared memory instead of a message, while the main thread
// waits awake a moment (lib/engine/lone-handoff.ts, lib/thread/handoff.ts). What must hold whatever
// the timing: every value gets exactly one outcome, the right one, whichever way it went; a thread
// that ends meanwhile fails only its own value; and no thread is left with an outcome awaited.

import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { moduleTask, offloadToThread, TaskError, ThreadPool, WorkerCrashedError } from 'rxthreads';
import { fixture } from '../helpers';

const dist = dirname(require.resolve('rxthreads'));
const { threadEngineOf } = require(join(dist, 'lib/owners/owner.js'));
const { Handoff, ThreadInt, slotInts } = require(join(dist, 'lib/wire/words.js'));

type Kind = 'number' | 'string' | 'throw' | 'async' | 'exit';
type Input = { kind: Kind; x: number; us: number };
const act = moduleTask<Input, number | string>(fixture('lone.cjs'), 'act');

interface Thread {
  readonly handoff: { readonly given: number } | undefined;
  readonly slots: { readonly ints: Int32Array; readonly count: number };
}
const threadsOf = (pool: ThreadPool): Thread[] => threadEngineOf(pool).threads;
const handedOver = (pool: ThreadPool) => threadsOf(pool).reduce((sum, t) => sum + (t.handoff?.given ?? 0), 0);
const awaited = (pool: ThreadPool) =>
  threadsOf(pool).filter(
    (t) => Atomics.load(t.slots.ints, t.slots.count * slotInts + ThreadInt.Handoff) === Handoff.Awaited,
  ).length;

/** What `act` gives for `input`: its value, or the class of its error. */
function expected(input: Input): number | string | typeof TaskError | typeof WorkerCrashedError {
  switch (input.kind) {
    case 'number':
    case 'async':
      return input.x + 1;
    case 'string':
      return `x${input.x}`;
    case 'throw':
      return TaskError;
    case 'exit':
      return WorkerCrashedError;
  }
}

describe('a lone outcome handed over in shared memory', function () {
  this.timeout(60_000);
  let pool: ThreadPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('is handed over while the thread runs on another core, each value once and in order', async function () {
    if (availableParallelism() < 2) this.skip(); // one core: the thread never spins, nothing is awaited
    pool = new ThreadPool({ size: 1 });
    const input = new Subject<number>();
    const out: number[] = [];
    let next: (value: number) => void = () => {};
    input.pipe(offloadToThread((x: number) => x + 1, { pool })).subscribe((value) => {
      out.push(value);
      next(value);
    });
    const started = Date.now();
    let sent = 0;
    // One value at a time, as a lone value is; until some were handed over (usually the first few).
    while (sent < 2_000 || (handedOver(pool) === 0 && Date.now() - started < 30_000)) {
      const back = new Promise<number>((resolve) => {
        next = resolve;
      });
      input.next(sent++);
      await back;
    }
    input.complete();
    expect(handedOver(pool), 'outcomes handed over').to.be.greaterThan(0);
    expect(out).to.deep.equal(Array.from({ length: sent }, (_, i) => i + 1));
    expect(awaited(pool)).to.equal(0);
  });

  it('gives each lone value exactly one outcome, the right one, whichever way it goes (property)', async () => {
    const item = fc.record<Input>({
      kind: fc.constantFrom<Kind>('number', 'number', 'number', 'string', 'throw', 'async', 'exit'),
      x: fc.integer({ min: 0, max: 1_000 }),
      // Around the main thread's wait (15 µs), both sides of it.
      us: fc.integer({ min: 0, max: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 40 }), async (items) => {
        const own = new ThreadPool({ size: 2 });
        // A live stream takes the values that end well, one at a time; `run` the rest (an error ends a stream).
        const source = new Subject<Input>();
        const streamed: unknown[] = [];
        let arrived: () => void = () => {};
        let completed: () => void = () => {};
        const finished = new Promise<void>((resolve) => {
          completed = resolve;
        });
        const subscription = source.pipe(offloadToThread(act, { pool: own })).subscribe({
          next: (value) => {
            streamed.push(value);
            arrived();
          },
          complete: () => completed(),
        });
        try {
          // Warm-up values: the threads are awake and spinning when the items come.
          for (let i = 0; i < 20; i++) await own.run(act, { kind: 'number', x: i, us: 0 });
          let sent = 0;
          for (const input of items) {
            const want = expected(input);
            if (typeof want === 'function') {
              const error = await own.run(act, input).then(
                (value) => expect.fail(`${input.kind} gave ${String(value)}`),
                (reason: unknown) => reason,
              );
              expect(error).to.be.instanceOf(want);
              continue;
            }
            if (input.x % 2 === 0) {
              expect(await own.run(act, input)).to.equal(want);
              continue;
            }
            const back = new Promise<void>((resolve) => {
              arrived = resolve;
            });
            source.next(input);
            sent++;
            await back;
            expect(streamed).to.have.length(sent);
            expect(streamed[sent - 1]).to.equal(want);
          }
          source.complete();
          await finished;
          expect(streamed, 'no outcome came twice').to.have.length(sent);
          expect(awaited(own)).to.equal(0);
        } finally {
          subscription.unsubscribe();
          await own.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
