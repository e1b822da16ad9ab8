import { expect } from 'chai';
import { EMPTY, lastValueFrom, range, Subject, throwError } from 'rxjs';
import { concatWith, map, take, toArray } from 'rxjs/operators';
import {
  EventLoopThread,
  moduleTask,
  offloadFrom,
  offloadToThread,
  runOnLoop,
  TaskError,
  ThreadPool,
  TimeoutError,
} from 'rxthreads';
import { fixture, grace, SharedCounters } from '../../helpers';

type Input = { sab: SharedArrayBuffer; value?: number };
const tasks = fixture('tasks.cjs');
const spinUntilAborted = moduleTask<Input, string>(tasks, 'spinUntilAborted');
const gated = moduleTask<Input, number>(tasks, 'gated');
const count = moduleTask<Input, number>(tasks, 'count');
const recordAbortReason = moduleTask<Input, string>(tasks, 'recordAbortReason');
const threadId = moduleTask<null, number>(tasks, 'threadId');

/** Spins for ever on input 0 (never looking at its context); returns its thread's id otherwise. */
const stuckOnZero = (x: number, ctx: { threadId: number }) => {
  if (x === 0) for (;;);
  return ctx.threadId;
};

describe('timeout', () => {
  let pool: ThreadPool;
  let loop: EventLoopThread;
  beforeEach(() => {
    pool = new ThreadPool({ size: 1, cancelGraceMs: 50 });
    loop = new EventLoopThread();
  });
  afterEach(() => Promise.all([pool.terminate(), loop.terminate()]));

  describe('pool.run', () => {
    it('rejects with TimeoutError and fires ctx.signal with a TimeoutError reason', async () => {
      const counters = new SharedCounters();
      const error = await pool.run(recordAbortReason, { sab: counters.buffer }, { timeout: 50 }).catch((e) => e);
      expect(error).to.be.instanceOf(TimeoutError);
      expect((error as TimeoutError).name).to.equal('TimeoutError');
      expect((error as TimeoutError).timeout).to.equal(50);
      await counters.atLeast(1, 1);
      expect(counters.get(1)).to.equal(1);
      expect(pool.stats()).to.include({ failed: 1, cancelled: 0 });
    });

    it('does not count the time a task waits in the queue', async () => {
      const counters = new SharedCounters();
      const first = pool.run(gated, { sab: counters.buffer, value: 1 });
      const second = pool.run(count, { sab: counters.buffer, value: 2 }, { timeout: 100 });
      await counters.atLeast(1);
      await grace(250); // the second waits far longer than its timeout, but has not started
      counters.set(2, 1);
      expect(await Promise.all([first, second])).to.deep.equal([1, 2]);
    });

    it('leaves a task that ends in time alone', async () => {
      expect(await pool.run((x: number) => x + 1, 1, { timeout: 1_000 })).to.equal(2);
    });

    it('stops a cooperative task without replacing its thread', async () => {
      const counters = new SharedCounters();
      const before = await pool.run(threadId, null);
      const error = await pool.run(spinUntilAborted, { sab: counters.buffer }, { timeout: 30 }).catch((e) => e);
      expect(error).to.be.instanceOf(TimeoutError);
      await counters.atLeast(1, 1);
      expect(await pool.run(threadId, null)).to.equal(before);
    });

    it('is validated', () => {
      expect(() => pool.run((x: number) => x, 1, { timeout: 0 })).to.throw(
        TypeError,
        'Expected `timeout` to be a number of ms > 0 and <= 2147483647, got `0` (number)',
      );
      expect(() => pool.run((x: number) => x, 1, { timeout: Number.NaN })).to.throw(TypeError, '`timeout`');
    });
  });

  it('loop.submit rejects with TimeoutError, firing ctx.signal in the loop', async () => {
    const counters = new SharedCounters();
    const error = await loop.submit(recordAbortReason, { sab: counters.buffer }, { timeout: 40 }).catch((e) => e);
    expect(error).to.be.instanceOf(TimeoutError);
    await counters.atLeast(1, 1);
    expect(counters.get(1)).to.equal(1);
    expect(await loop.submit((x: number) => x * 2, 21)).to.equal(42);
  });

  describe('operators', () => {
    it('replace the thread of a non-cooperative task past its timeout; with settle the other values go on', async () => {
      const before = await pool.run(threadId, null);
      const out = await lastValueFrom(
        range(0, 4).pipe(offloadToThread(stuckOnZero, { pool, timeout: 100, settle: true }), toArray()),
      );
      expect(out[0]!.status).to.equal('rejected');
      expect(out[0]!.status === 'rejected' && out[0]!.reason).to.be.instanceOf(TimeoutError);
      const ids = out.slice(1).map((entry) => (entry.status === 'fulfilled' ? entry.value : -1));
      expect(ids).to.have.length(3);
      for (const id of ids) expect(id).to.be.a('number').and.not.equal(before).and.not.equal(-1);
    });

    it('fail the stream with TimeoutError without settle', async () => {
      const error = await lastValueFrom(range(0, 3).pipe(offloadToThread(stuckOnZero, { pool, timeout: 50 }))).catch(
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TimeoutError);
    });

    it('complete an empty source', async () => {
      expect(
        await lastValueFrom(EMPTY.pipe(offloadToThread(stuckOnZero, { pool, timeout: 50 }), toArray())),
      ).to.deep.equal([]);
    });

    it('map one and many values that end in time', async () => {
      const out = await lastValueFrom(
        range(0, 2000).pipe(
          offloadToThread((x: number) => x * 3, { pool, timeout: 5_000 }),
          toArray(),
        ),
      );
      expect(out).to.deep.equal(Array.from({ length: 2000 }, (_, i) => i * 3));
      const offloaded = await lastValueFrom(
        offloadFrom([1, 2, 3], (x: number) => -x, { pool, timeout: 5_000 }).pipe(toArray()),
      );
      expect(offloaded).to.deep.equal([-1, -2, -3]);
    });

    it('runOnLoop: a task past its timeout becomes a rejected entry with settle; the rest go on', async () => {
      const counters = new SharedCounters();
      const out = await lastValueFrom(
        range(0, 3).pipe(
          map((value) => ({ sab: counters.buffer, value })),
          runOnLoop(
            loop,
            (input: Input, ctx) =>
              input.value === 1
                ? new Promise<number>((resolve) => ctx.signal.addEventListener('abort', () => resolve(-1)))
                : input.value!,
            { timeout: 50, settle: true },
          ),
          toArray(),
        ),
      );
      expect(out.map((entry) => entry.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      expect(out[1]!.status === 'rejected' && out[1]!.reason).to.be.instanceOf(TimeoutError);
    });

    it('forward a source error and a TaskError as before', async () => {
      const sourceError = await lastValueFrom(
        range(0, 2).pipe(
          concatWith(throwError(() => new Error('source failed'))),
          offloadToThread((x: number) => x, { pool, timeout: 1_000 }),
        ),
      ).catch((e: Error) => e);
      expect((sourceError as Error).message).to.equal('source failed');
      const taskError = await lastValueFrom(
        range(0, 2).pipe(
          offloadToThread(
            () => {
              throw new Error('no');
            },
            { pool, timeout: 1_000 },
          ),
        ),
      ).catch((e: unknown) => e);
      expect(taskError).to.be.instanceOf(TaskError);
    });

    it('with take(n) or an early unsubscribe, cancel the rest; no timeout fires afterwards', async () => {
      const counters = new SharedCounters();
      const source = new Subject<Input>();
      const seen: unknown[] = [];
      const sub = source
        .pipe(offloadToThread(recordAbortReason, { pool, timeout: 5_000 }))
        .subscribe({ next: (v) => seen.push(v), error: (e) => seen.push(e) });
      source.next({ sab: counters.buffer });
      await counters.atLeast(1);
      sub.unsubscribe();
      await counters.atLeast(1, 1);
      expect(counters.get(1)).to.equal(2); // an AbortError, not a timeout
      expect(seen).to.deep.equal([]);
      const out = await lastValueFrom(
        range(0, 100).pipe(
          offloadToThread((x: number) => x, { pool, timeout: 1_000 }),
          take(3),
          toArray(),
        ),
      );
      expect(out).to.deep.equal([0, 1, 2]);
    });
  });
});
