import { expect } from 'chai';
import { EMPTY, lastValueFrom, type OperatorFunction, range, Subject, throwError } from 'rxjs';
import { concatWith, map, take, toArray } from 'rxjs/operators';
import {
  AbortError,
  EventLoopThread,
  moduleTask,
  offloadFrom,
  offloadToThread,
  runOnLoop,
  SerializationError,
  type Settled,
  TaskError,
  ThreadPool,
  WorkerCrashedError,
} from 'rxthreads';
import { fixture, SharedCounters } from '../../helpers';

type Input = { sab: SharedArrayBuffer; value?: number };
const tasks = fixture('tasks.cjs');
const awaitAbort = moduleTask<Input, string>(tasks, 'awaitAbort');

/** Fails odd inputs, doubles even ones. */
const evenOnly = (x: number) => {
  if (x % 2 === 1) throw new RangeError(`odd ${x}`);
  return x * 2;
};

function summary(entries: Settled<number, unknown>[]): string[] {
  return entries.map((entry) =>
    entry.status === 'fulfilled'
      ? `${entry.input}: ${String(entry.value)}`
      : `${entry.input}: ${entry.reason.name} ${entry.reason.message}`,
  );
}

describe('settle', () => {
  let pool: ThreadPool;
  let loop: EventLoopThread;
  beforeEach(() => {
    pool = new ThreadPool({ size: 2 });
    loop = new EventLoopThread();
  });
  afterEach(() => Promise.all([pool.terminate(), loop.terminate()]));

  it('types the output as Settled entries, and as plain values without it', () => {
    const settled: OperatorFunction<number, Settled<number, number>> = offloadToThread(evenOnly, {
      pool,
      settle: true,
    });
    const plain: OperatorFunction<number, number> = offloadToThread(evenOnly, { pool, settle: false });
    const onLoop: OperatorFunction<number, Settled<number, number>> = runOnLoop(loop, evenOnly, { settle: true });
    expect([settled, plain, onLoop].every((op) => typeof op === 'function')).to.equal(true);
  });

  it('completes an empty source with no entries', async () => {
    expect(await lastValueFrom(EMPTY.pipe(offloadToThread(evenOnly, { pool, settle: true }), toArray()))).to.deep.equal(
      [],
    );
  });

  it('emits one fulfilled entry with its input for one value', async () => {
    expect(await lastValueFrom(range(4, 1).pipe(offloadToThread(evenOnly, { pool, settle: true })))).to.deep.equal({
      status: 'fulfilled',
      value: 8,
      input: 4,
    });
  });

  for (const [name, operator] of [
    ['offloadToThread', () => offloadToThread(evenOnly, { pool, settle: true })],
    ['runOnLoop', () => runOnLoop(loop, evenOnly, { settle: true })],
  ] as const) {
    it(`${name}: a throwing task becomes a rejected TaskError entry and the stream goes on, in order`, async () => {
      const out = await lastValueFrom(range(0, 6).pipe(operator(), toArray()));
      expect(summary(out)).to.deep.equal([
        '0: 0',
        '1: TaskError odd 1',
        '2: 4',
        '3: TaskError odd 3',
        '4: 8',
        '5: TaskError odd 5',
      ]);
      const rejected = out[1]!;
      expect(rejected.status === 'rejected' && rejected.reason).to.be.instanceOf(TaskError);
      expect(rejected.status === 'rejected' && (rejected.reason.cause as Error).name).to.equal('RangeError');
    });
  }

  it('offloadFrom: emits an entry per input of an iterable, many of them, unordered when asked', async () => {
    const inputs = Array.from({ length: 1000 }, (_, i) => i);
    const out = await lastValueFrom(
      offloadFrom(inputs, evenOnly, { pool, settle: true, ordered: false }).pipe(toArray()),
    );
    expect(out).to.have.length(1000);
    const byInput = new Map(out.map((entry) => [entry.input, entry]));
    expect(byInput.size).to.equal(1000);
    for (const [input, entry] of byInput) {
      expect(entry.status).to.equal(input % 2 === 0 ? 'fulfilled' : 'rejected');
      if (entry.status === 'fulfilled') expect(entry.value).to.equal(input * 2);
    }
  });

  it('turns an unclonable input or result into a rejected SerializationError entry', async () => {
    const out = await lastValueFrom(
      range(0, 3).pipe(
        map((i) => (i === 1 ? { bad: () => 1 } : { bad: null })),
        offloadToThread((x: { bad: unknown }) => (x.bad === null ? 'ok' : 'unreachable'), { pool, settle: true }),
        toArray(),
      ),
    );
    expect(out.map((entry) => entry.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    expect(out[1]!.status === 'rejected' && out[1]!.reason).to.be.instanceOf(SerializationError);
    const result = await lastValueFrom(
      range(0, 2).pipe(offloadToThread(moduleTask<number, unknown>(tasks, 'unclonable'), { pool, settle: true })),
    );
    expect(result.status === 'rejected' && result.reason).to.be.instanceOf(SerializationError);
  });

  it('turns a thread crash into a rejected WorkerCrashedError entry; the other values go on', async () => {
    const out = await lastValueFrom(
      range(0, 4).pipe(
        offloadToThread(
          (x: number) => {
            if (x === 2) process.exit(7);
            return x;
          },
          { pool, settle: true, concurrency: 1 },
        ),
        toArray(),
      ),
    );
    expect(out.map((entry) => entry.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const crashed = out[2]!;
    expect(crashed.status === 'rejected' && crashed.reason).to.be.instanceOf(WorkerCrashedError);
    expect(crashed.status === 'rejected' && (crashed.reason as WorkerCrashedError).exitCode).to.equal(7);
  });

  it('still fails the stream on a source error', async () => {
    const error = await lastValueFrom(
      range(0, 2).pipe(
        concatWith(throwError(() => new Error('source failed'))),
        offloadToThread(evenOnly, { pool, settle: true }),
      ),
    ).catch((e: Error) => e);
    expect((error as Error).message).to.equal('source failed');
  });

  it('still fails the stream with AbortError when its signal aborts, cancelling running tasks', async () => {
    const ac = new AbortController();
    const counters = new SharedCounters();
    const source = new Subject<Input>();
    const result = lastValueFrom(source.pipe(offloadToThread(awaitAbort, { pool, settle: true, signal: ac.signal })));
    source.next({ sab: counters.buffer });
    await counters.atLeast(1);
    ac.abort();
    expect(await result.catch((e: unknown) => e)).to.be.instanceOf(AbortError);
    await counters.atLeast(1, 1);
  });

  it('with take(n), emits n entries and cancels the running rest', async () => {
    const counters = new SharedCounters();
    const source = new Subject<Input & { fast: number }>();
    const out = lastValueFrom(
      source.pipe(
        offloadToThread(moduleTask<Input & { fast: number }, number>(tasks, 'fastThenSpin'), {
          pool,
          settle: true,
          ordered: false,
        }),
        take(1),
        toArray(),
      ),
    );
    source.next({ sab: counters.buffer, value: 5, fast: 1 }); // spins until cancelled
    await counters.atLeast(1);
    const fast = { sab: counters.buffer, value: 0, fast: 1 };
    source.next(fast);
    expect(await out).to.deep.equal([{ status: 'fulfilled', value: 0, input: fast }]);
    await counters.atLeast(1, 1); // the running one saw its cancel
    const firstTwo = await lastValueFrom(
      range(0, 10).pipe(offloadToThread(evenOnly, { pool, settle: true }), take(2), toArray()),
    );
    expect(summary(firstTwo)).to.deep.equal(['0: 0', '1: TaskError odd 1']);
  });

  it('is validated', () => {
    expect(() => offloadToThread(evenOnly, { settle: 'yes' as unknown as boolean })).to.throw(
      TypeError,
      'Expected `settle` to be a boolean, got `yes` (string)',
    );
  });
});
