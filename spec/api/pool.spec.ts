import { availableParallelism } from 'node:os';
import { expect } from 'chai';
import {
  AbortError,
  ClosedError,
  moduleTask,
  QueueFullError,
  SerializationError,
  TaskError,
  ThreadPool,
  WorkerCrashedError,
} from 'rxthreads';
import { fixture, grace, SharedCounters } from '../helpers';

type Gate = { sab: SharedArrayBuffer; value?: unknown };
const tasks = fixture('tasks.cjs');
const count = moduleTask<Gate, unknown>(tasks, 'count');
const gated = moduleTask<Gate, unknown>(tasks, 'gated');
const spinUntilAborted = moduleTask<Gate, string>(tasks, 'spinUntilAborted');
const awaitAbort = moduleTask<Gate, string>(tasks, 'awaitAbort');
const spinForever = moduleTask<Gate, never>(tasks, 'spinForever');
const threadId = moduleTask<null, number>(tasks, 'threadId');

function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

describe('ThreadPool', () => {
  let pool: ThreadPool;
  afterEach(async () => {
    await pool?.terminate();
  });

  describe('options', () => {
    it('defaults to os.availableParallelism() threads', () => {
      pool = new ThreadPool();
      expect(pool.size).to.equal(availableParallelism());
    });

    it('rejects bad options with a TypeError naming the option and echoing the value', () => {
      expect(() => new ThreadPool({ size: 0 })).to.throw(
        TypeError,
        'Expected `size` to be an integer from 1 to 1024, got `0` (number)',
      );
      expect(() => new ThreadPool({ size: 1.5 })).to.throw(TypeError, /`size`.*`1.5`/);
      expect(() => new ThreadPool({ maxQueue: -1 })).to.throw(TypeError, /`maxQueue`.*`-1`/);
      expect(() => new ThreadPool({ cancelGraceMs: Number.NaN })).to.throw(TypeError, /`cancelGraceMs`.*`NaN`/);
      // A timer cannot wait longer: Node would fire it at once and kill a thread given "forever".
      expect(() => new ThreadPool({ closeGraceMs: 2 ** 31 })).to.throw(
        TypeError,
        'Expected `closeGraceMs` to be a number of ms >= 0 and <= 2147483647, got `2147483648` (number)',
      );
      expect(() => new ThreadPool({ name: 3 as unknown as string })).to.throw(TypeError, /`name`.*`3` \(number\)/);
      // A pool starts every thread at its first task: a size beyond any machine would hold the caller's loop until memory ran out.
      expect(() => new ThreadPool({ size: 1e9 })).to.throw(
        TypeError,
        'Expected `size` to be an integer from 1 to 1024, got `1000000000` (number)',
      );
      // Arrays and objects are shown as such, not as `` or [object Object].
      expect(() => new ThreadPool({ size: [2] as unknown as number })).to.throw(TypeError, /got `\[2\]` \(array\)/);
      expect(() => new ThreadPool({ maxQueue: { n: 1 } as unknown as number })).to.throw(
        TypeError,
        /got `\{ n: 1 \}` \(object\)/,
      );
      pool = new ThreadPool({ size: 1 });
      expect(() => pool.run((x: number) => x, 1, { signal: 'x' as unknown as AbortSignal })).to.throw(
        TypeError,
        /`signal`/,
      );
    });
  });

  describe('running tasks', () => {
    it('runs tasks on its threads, each with the thread id in ctx', async () => {
      pool = new ThreadPool({ size: 2 });
      const counters = new SharedCounters();
      // Hold both threads so that each of them takes one task.
      const held = [
        pool.run(gated, { sab: counters.buffer, value: 1 }),
        pool.run(gated, { sab: counters.buffer, value: 2 }),
      ];
      await counters.atLeast(2);
      counters.set(2, 1);
      expect(await Promise.all(held)).to.deep.equal([1, 2]);
      const ids = new Set(await Promise.all([pool.run(threadId, null), pool.run(threadId, null)]));
      for (const id of ids) expect(id).to.be.a('number').greaterThan(0);
    });

    it('fails a throwing task with TaskError carrying the original name, message, stack and properties', async () => {
      pool = new ThreadPool({ size: 1 });
      const error = await rejection(pool.run(moduleTask<number, never>(tasks, 'fail'), 7));
      expect(error).to.be.instanceOf(TaskError);
      expect(error.name).to.equal('TaskError');
      expect(error.message).to.equal('bad value 7');
      const cause = error.cause as Error & { code: string; detail: unknown };
      expect(cause.name).to.equal('RangeError');
      expect(cause.message).to.equal('bad value 7');
      expect(cause.stack).to.include('tasks.cjs');
      expect(cause.code).to.equal('E_BAD');
      expect(cause.detail).to.deep.equal({ input: 7 });
      expect(pool.stats()).to.include({ failed: 1 });
    });

    it('counts completed, failed and cancelled tasks in stats', async () => {
      pool = new ThreadPool({ size: 1 });
      await pool.run((x: number) => x, 1);
      await rejection(pool.run(() => Promise.reject(new Error('no')), null));
      const ac = new AbortController();
      const cancelled = pool.run((ms: number) => new Promise((r) => setTimeout(r, ms)), 10_000, { signal: ac.signal });
      ac.abort();
      await rejection(cancelled);
      expect(pool.stats()).to.deep.include({ threads: 1, completed: 1, failed: 1, cancelled: 1 });
    });

    it('rejects run() with QueueFullError beyond maxQueue waiting tasks', async () => {
      pool = new ThreadPool({ size: 1, maxQueue: 1 });
      const counters = new SharedCounters();
      const first = pool.run(gated, { sab: counters.buffer, value: 'a' }); // takes the thread
      await counters.atLeast(1);
      const second = pool.run(count, { sab: counters.buffer, value: 'b' }); // waits
      expect(pool.stats().queued).to.equal(1);
      const error = await rejection(pool.run(count, { sab: counters.buffer, value: 'c' }));
      expect(error).to.be.instanceOf(QueueFullError);
      counters.set(2, 1);
      expect(await Promise.all([first, second])).to.deep.equal(['a', 'b']);
    });
  });

  describe('maxQueue, counted as piscina counts it', () => {
    it('accepts size + maxQueue run() calls made in one tick on a started pool, and refuses the next', async () => {
      pool = new ThreadPool({ size: 1, maxQueue: 10 });
      await pool.run((x: number) => x, 0); // started
      const calls = Array.from({ length: 12 }, (_, i) => pool.run((x: number) => x, i).catch((e: Error) => e.name));
      expect(await Promise.all(calls)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 'QueueFullError']);
    });
  });

  describe('cancellation', () => {
    it('never starts a queued task whose signal aborts, wherever it waits', async () => {
      pool = new ThreadPool({ size: 1 });
      const counters = new SharedCounters();
      const ac = new AbortController();
      const first = pool.run(gated, { sab: counters.buffer, value: 'first' });
      await counters.atLeast(1);
      // These may already sit on the thread (prefetched) or in the pool's queue.
      const queued = Array.from({ length: 5 }, (_, i) =>
        pool.run(count, { sab: counters.buffer, value: i }, { signal: ac.signal }),
      );
      ac.abort();
      for (const p of queued) expect(await rejection(p)).to.be.instanceOf(AbortError);
      counters.set(2, 1);
      expect(await first).to.equal('first');
      expect(await pool.run((x: number) => x, 1)).to.equal(1); // the thread went past the cancelled ones
      expect(counters.get(0)).to.equal(1);
      expect(pool.stats().cancelled).to.equal(5);
    });

    it('rejects at once with AbortError for an already-aborted signal', async () => {
      pool = new ThreadPool({ size: 1 });
      const error = await rejection(pool.run((x: number) => x, 1, { signal: AbortSignal.abort() }));
      expect(error).to.be.instanceOf(AbortError);
      expect(error.name).to.equal('AbortError');
    });

    it('shows a running synchronous loop its cancel through ctx.aborted, without yielding', async () => {
      pool = new ThreadPool({ size: 1, cancelGraceMs: 10_000 });
      const counters = new SharedCounters();
      const ac = new AbortController();
      const running = pool.run(spinUntilAborted, { sab: counters.buffer }, { signal: ac.signal });
      await counters.atLeast(1);
      ac.abort();
      expect(await rejection(running)).to.be.instanceOf(AbortError); // rejects at once
      await counters.atLeast(1, 1); // and the loop inside the thread saw it
      expect(pool.stats().threads).to.equal(1);
    });

    it('fires ctx.signal inside the thread for a running async task', async () => {
      pool = new ThreadPool({ size: 1 });
      const counters = new SharedCounters();
      const ac = new AbortController();
      const running = pool.run(awaitAbort, { sab: counters.buffer }, { signal: ac.signal });
      await counters.atLeast(1);
      ac.abort();
      expect(await rejection(running)).to.be.instanceOf(AbortError);
      await counters.atLeast(1, 1);
    });

    it('replaces the thread of a task that ignores its cancel past cancelGraceMs, and stays usable', async () => {
      pool = new ThreadPool({ size: 1, cancelGraceMs: 50 });
      const counters = new SharedCounters();
      const ac = new AbortController();
      const idBefore = await pool.run(threadId, null);
      const running = pool.run(spinForever, { sab: counters.buffer }, { signal: ac.signal });
      await counters.atLeast(1);
      ac.abort();
      expect(await rejection(running)).to.be.instanceOf(AbortError);
      const idAfter = await pool.run(threadId, null); // runs on the replacement
      expect(idAfter).to.not.equal(idBefore);
      const spun = counters.get(3);
      await grace(100);
      expect(counters.get(3)).to.equal(spun); // the spinning thread is gone
    });
  });

  describe('dying threads', () => {
    it('fails only the running task with WorkerCrashedError(exitCode) on process.exit, and goes on', async () => {
      pool = new ThreadPool({ size: 1 });
      const counters = new SharedCounters();
      const dying = pool.run(moduleTask<number, never>(tasks, 'exit'), 3);
      const after = Array.from({ length: 3 }, (_, i) => pool.run(count, { sab: counters.buffer, value: i }));
      const error = await rejection(dying);
      expect(error).to.be.instanceOf(WorkerCrashedError);
      expect((error as WorkerCrashedError).exitCode).to.equal(3);
      expect(await Promise.all(after)).to.deep.equal([0, 1, 2]);
      expect(pool.stats()).to.include({ threads: 1, failed: 1, completed: 3 });
    });

    it('fails the running task when the thread throws from a timer', async () => {
      pool = new ThreadPool({ size: 1 });
      const error = await rejection(pool.run(moduleTask<null, never>(tasks, 'throwLater'), null));
      expect(error).to.be.instanceOf(WorkerCrashedError);
      expect(error.message).to.include('thrown from a timer');
      expect(await pool.run((x: number) => x + 1, 1)).to.equal(2);
    });

    it('fails the running task when the thread runs out of memory under resourceLimits', async () => {
      pool = new ThreadPool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: 16 } });
      const error = await rejection(pool.run(moduleTask<null, never>(tasks, 'hog'), null));
      expect(error).to.be.instanceOf(WorkerCrashedError);
      expect(await pool.run((x: number) => x + 1, 1)).to.equal(2);
    });
  });

  describe('bad input and transfers', () => {
    it('takes its input at the call: a later change to the object is not seen by the task', async () => {
      pool = new ThreadPool({ size: 1 });
      const input = { i: -1, bytes: new Uint8Array(1) };
      const runs: Promise<number[]>[] = [];
      for (let i = 0; i < 3; i++) {
        input.i = i;
        input.bytes[0] = i;
        runs.push(pool.run((x: { i: number; bytes: Uint8Array }) => [x.i, x.bytes[0]!], input));
      }
      input.i = 99;
      expect(await Promise.all(runs)).to.deep.equal([
        [0, 0],
        [1, 1],
        [2, 2],
      ]);
    });

    it("copies a large binary input once at the call, leaving the caller's buffer as it was", async () => {
      pool = new ThreadPool({ size: 1 });
      const bytes = new Uint8Array(2 * 1024 * 1024).fill(1);
      const run = pool.run((b: Uint8Array) => b.reduce((sum, x) => sum + x, 0), bytes);
      expect(bytes.byteLength).to.equal(2 * 1024 * 1024);
      bytes.fill(2);
      expect(await run).to.equal(2 * 1024 * 1024);
    });

    it('moves the buffers in transfer at the call, as postMessage does', async () => {
      pool = new ThreadPool({ size: 1 });
      const bytes = new Uint8Array([7, 8]);
      const run = pool.run((b: Uint8Array) => b.length, bytes, { transfer: [bytes.buffer] });
      expect(bytes.byteLength).to.equal(0);
      expect(await run).to.equal(2);
    });

    it('fails an unclonable input with SerializationError before it takes a thread', async () => {
      pool = new ThreadPool({ size: 1 });
      const [bad, good] = await Promise.allSettled([
        pool.run((x: unknown) => x, Symbol('no')),
        pool.run((x: number) => x, 5),
      ]);
      expect(bad.status).to.equal('rejected');
      const error = (bad as PromiseRejectedResult).reason as Error;
      expect(error).to.be.instanceOf(SerializationError);
      expect((error.cause as Error).name).to.equal('DataCloneError');
      expect(good).to.deep.equal({ status: 'fulfilled', value: 5 });
    });

    it('fails an unclonable result with SerializationError and the thread survives', async () => {
      pool = new ThreadPool({ size: 1 });
      const idBefore = await pool.run(threadId, null);
      const error = await rejection(pool.run(moduleTask<null, unknown>(tasks, 'unclonable'), null));
      expect(error).to.be.instanceOf(SerializationError);
      expect(await pool.run(threadId, null)).to.equal(idBefore);
    });

    it('moves transferred buffers both ways instead of copying them', async () => {
      pool = new ThreadPool({ size: 1 });
      const bytes = new Uint8Array([1, 2, 3]);
      const result = await pool.run(moduleTask<Uint8Array, Uint8Array>(tasks, 'doubleBytes'), bytes, {
        transfer: [bytes.buffer],
      });
      expect(bytes.byteLength).to.equal(0); // moved to the thread
      expect([...result]).to.deep.equal([2, 4, 6]); // and moved back
    });
  });

  describe('close, terminate and done', () => {
    it('refuses work after close() with a ClosedError naming the pool and what to do', async () => {
      pool = new ThreadPool({ size: 1, name: 'images' });
      const counters = new SharedCounters();
      const running = pool.run(gated, { sab: counters.buffer, value: 'r' });
      await counters.atLeast(1);
      const closing = pool.close();
      const whileClosing = await rejection(pool.run((x: number) => x, 1));
      counters.set(2, 1);
      await Promise.all([running, closing]);
      const afterwards = await rejection(pool.run((x: number) => x, 1));
      expect(whileClosing).to.be.instanceOf(ClosedError);
      expect(whileClosing.message).to.match(
        /^This ThreadPool "images" is closing, so it takes no more tasks: create a new one/,
      );
      expect(afterwards.message).to.match(
        /^This ThreadPool "images" has been closed \(close\(\) or terminate\(\) was called\)/,
      );
    });

    it('close() lets queued and running tasks finish, refuses new ones, then every thread exits', async () => {
      pool = new ThreadPool({ size: 1 });
      const counters = new SharedCounters();
      const running = pool.run(gated, { sab: counters.buffer, value: 'r' });
      const queued = pool.run(count, { sab: counters.buffer, value: 'q' });
      await counters.atLeast(1);
      const closed = pool.close();
      expect(await rejection(pool.run((x: number) => x, 1))).to.be.instanceOf(ClosedError);
      counters.set(2, 1);
      expect(await Promise.all([running, queued])).to.deep.equal(['r', 'q']);
      await closed;
      expect(pool.stats().threads).to.equal(0);
    });

    it('terminate() rejects queued and running tasks with AbortError and resolves when threads exit', async () => {
      pool = new ThreadPool({ size: 1 });
      const counters = new SharedCounters();
      const running = rejection(pool.run(spinForever, { sab: counters.buffer }));
      const queued = rejection(pool.run(count, { sab: counters.buffer, value: 1 }));
      await counters.atLeast(1);
      await pool.terminate();
      expect(await running).to.be.instanceOf(AbortError);
      expect(await queued).to.be.instanceOf(AbortError);
      expect(counters.get(0)).to.equal(1);
    });

    it('terminate() during close() cuts the drain short; both resolve, and again is harmless', async () => {
      pool = new ThreadPool({ size: 1 });
      const counters = new SharedCounters();
      const running = rejection(pool.run(spinForever, { sab: counters.buffer }));
      await counters.atLeast(1);
      const closing = pool.close();
      const terminating = pool.terminate();
      await Promise.all([closing, terminating, pool.close(), pool.terminate()]);
      expect(await running).to.be.instanceOf(AbortError);
    });

    it('done resolves once closed and exited, never rejects, and onDone runs callbacks (soon, never synchronously, when done)', async () => {
      pool = new ThreadPool({ size: 1 });
      let called = 0;
      pool.onDone(() => called++);
      await pool.run((x: number) => x, 1);
      await pool.close();
      await pool.done;
      await Promise.resolve();
      expect(called).to.equal(1);
      pool.onDone(() => called++);
      expect(called).to.equal(1);
      await Promise.resolve();
      expect(called).to.equal(2);
    });

    it('refuses an onDone callback that is not a function at the call, not later as an uncaught exception', () => {
      pool = new ThreadPool({ size: 1 });
      expect(() => pool.onDone(undefined as unknown as () => void)).to.throw(
        TypeError,
        'Expected `callback` to be a function, got `undefined` (undefined)',
      );
    });

    it('supports await using', async () => {
      let kept: ThreadPool | undefined;
      {
        await using scoped = new ThreadPool({ size: 1 });
        kept = scoped;
        expect(await scoped.run((x: number) => x * 2, 4)).to.equal(8);
      }
      expect(await rejection(kept.run((x: number) => x, 1))).to.be.instanceOf(ClosedError);
      pool = kept;
    });
  });
});
