import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import { defer, EMPTY, lastValueFrom, type Observable, range, Subject, throwError } from 'rxjs';
import { concatWith, map, take, toArray } from 'rxjs/operators';
import {
  AbortError,
  EventLoopThread,
  moduleTask,
  offloadFrom,
  offloadToThread,
  runOnLoop,
  type StreamControlOptions,
  TaskError,
  type TaskLike,
  ThreadPool,
} from 'rxthreads';
import { fixture, grace, OsThreadLog, SharedCounters } from '../../helpers';

type Input = { sab: SharedArrayBuffer; value?: number };
const tasks = fixture('tasks.cjs');
const count = moduleTask<Input, number>(tasks, 'count');
const awaitAbort = moduleTask<Input, string>(tasks, 'awaitAbort');
const fail = moduleTask<number, never>(tasks, 'fail');

/** Applies one operator; `settle` is not used here, so the output is the task's. */
type Apply = <I, O>(source: Observable<I>, task: TaskLike<I, O>, options: StreamControlOptions) => Observable<O>;

// The same behaviour, through each operator that takes `signal`.
const operators: [string, (pool: ThreadPool, loop: EventLoopThread) => Apply][] = [
  [
    'offloadToThread',
    (pool) => (source, task, options) => source.pipe(offloadToThread(task, { pool, ...options })) as Observable<never>,
  ],
  [
    'offloadFrom',
    (pool) => (source, task, options) =>
      offloadFrom(observableIterable(source), task, { pool, ...options }) as Observable<never>,
  ],
  [
    'runOnLoop',
    (_pool, loop) => (source, task, options) => source.pipe(runOnLoop(loop, task, options)) as Observable<never>,
  ],
];

/** An Observable as an async iterable, so that offloadFrom sees the same source. */
function observableIterable<T>(source: Observable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const buffered: T[] = [];
      let waiting: ((step: IteratorResult<T>) => void) | undefined;
      let failure: { error: unknown } | undefined;
      let done = false;
      let rejecting: ((error: unknown) => void) | undefined;
      const sub = source.subscribe({
        next: (value) => {
          if (waiting !== undefined) {
            const resolve = waiting;
            waiting = undefined;
            rejecting = undefined;
            resolve({ value, done: false });
          } else buffered.push(value);
        },
        error: (error) => {
          failure = { error };
          rejecting?.(error);
        },
        complete: () => {
          done = true;
          waiting?.({ value: undefined, done: true });
        },
      });
      return {
        next: () => {
          if (buffered.length > 0) return Promise.resolve({ value: buffered.shift()!, done: false });
          if (failure !== undefined) return Promise.reject(failure.error);
          if (done) return Promise.resolve({ value: undefined, done: true });
          return new Promise((resolve, reject) => {
            waiting = resolve;
            rejecting = reject;
          });
        },
        return: () => {
          sub.unsubscribe();
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
}

for (const [name, make] of operators) {
  describe(`${name}: signal`, () => {
    let pool: ThreadPool;
    let loop: EventLoopThread;
    let apply: Apply;
    beforeEach(() => {
      pool = new ThreadPool({ size: 2 });
      loop = new EventLoopThread();
      apply = make(pool, loop);
    });
    afterEach(() => Promise.all([pool.terminate(), loop.terminate()]));

    it('errors at subscribe with AbortError (cause: the reason) when already aborted, and runs nothing', async () => {
      const counters = new SharedCounters();
      let subscribed = 0;
      const source = defer(() => {
        subscribed++;
        return range(0, 3);
      }).pipe(map((value) => ({ sab: counters.buffer, value })));
      const reason = new Error('stop now');
      const error = await lastValueFrom(apply(source, count, { signal: AbortSignal.abort(reason) })).catch(
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(AbortError);
      expect((error as AbortError).cause).to.equal(reason);
      await grace(50);
      expect(counters.get(0)).to.equal(0);
      expect(subscribed).to.equal(0);
    });

    it('completes an empty source and lets go of the signal', async () => {
      const ac = new AbortController();
      expect(await lastValueFrom(apply(EMPTY, count, { signal: ac.signal }).pipe(toArray()))).to.deep.equal([]);
      expect(getEventListeners(ac.signal, 'abort')).to.have.length(0);
    });

    it('maps one and many values as without it, and lets go of the signal on completion', async () => {
      const ac = new AbortController();
      const counters = new SharedCounters();
      const out = await lastValueFrom(
        apply(range(0, 200).pipe(map((value) => ({ sab: counters.buffer, value }))), count, {
          signal: ac.signal,
        }).pipe(toArray()),
      );
      expect(out).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
      expect(getEventListeners(ac.signal, 'abort')).to.have.length(0);
      ac.abort(); // after completion: nothing happens
    });

    it('on abort cancels running tasks (ctx.signal fires) and errors with AbortError carrying the reason', async () => {
      const ac = new AbortController();
      const counters = new SharedCounters();
      const source = new Subject<Input>();
      const result = lastValueFrom(apply(source, awaitAbort, { signal: ac.signal })).catch((e: unknown) => e);
      source.next({ sab: counters.buffer });
      await counters.atLeast(1);
      ac.abort('enough');
      const error = await result;
      expect(error).to.be.instanceOf(AbortError);
      expect((error as AbortError).cause).to.equal('enough');
      await counters.atLeast(1, 1); // the task saw its signal fire
    });

    it('forwards a source error, not an AbortError', async () => {
      const ac = new AbortController();
      const source = range(0, 2).pipe(concatWith(throwError(() => new Error('source failed'))));
      const error = await lastValueFrom(apply(source, (x: number) => x, { signal: ac.signal })).catch((e: Error) => e);
      expect((error as Error).message).to.equal('source failed');
    });

    it('errors with TaskError when a task throws', async () => {
      const error = await lastValueFrom(apply(range(0, 3), fail, { signal: new AbortController().signal })).catch(
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TaskError);
    });

    it('with take(n), emits n values and lets go of the signal', async () => {
      const ac = new AbortController();
      const out = await lastValueFrom(
        apply(range(0, 50), (x: number) => x + 1, { signal: ac.signal }).pipe(take(3), toArray()),
      );
      expect(out).to.deep.equal([1, 2, 3]);
      expect(getEventListeners(ac.signal, 'abort')).to.have.length(0);
    });
  });
}

describe('signal option', () => {
  it('is validated', () => {
    expect(() => offloadToThread((x: number) => x, { signal: {} as AbortSignal })).to.throw(
      TypeError,
      'Expected `signal` to be an AbortSignal, got `{}` (object)',
    );
  });

  it('after an abort, errors only once its private pool has exited', async () => {
    const ac = new AbortController();
    const counters = new SharedCounters();
    const log = new OsThreadLog();
    const source = new Subject<Input & { osThreads: SharedArrayBuffer }>();
    let aliveAtError: number[] | undefined;
    const result = new Promise<unknown>((resolve) =>
      source.pipe(offloadToThread(awaitAbort, { threads: 1, signal: ac.signal })).subscribe({
        error: (e: unknown) => {
          aliveAtError = log.alive();
          resolve(e);
        },
      }),
    );
    source.next({ sab: counters.buffer, osThreads: log.buffer });
    await counters.atLeast(1);
    ac.abort();
    expect(await result).to.be.instanceOf(AbortError);
    expect(log.ids()).to.have.length(1);
    expect(aliveAtError).to.deep.equal([]);
  });

  it('keeps one listener per signal and owner, however many tasks and streams share it: no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const pool = new ThreadPool({ size: 2 });
    const loop = new EventLoopThread();
    try {
      const ac = new AbortController();
      const { signal } = ac;
      const runs = Array.from({ length: 30 }, (_, i) => pool.run((x: number) => x, i, { signal }));
      const submits = Array.from({ length: 30 }, (_, i) => loop.submit((x: number) => x, i, { signal }));
      const streams = Array.from({ length: 30 }, (_, i) =>
        lastValueFrom(
          range(i, 3).pipe(
            offloadToThread((x: number) => x, { pool, signal }),
            toArray(),
          ),
        ),
      );
      expect(getEventListeners(signal, 'abort').length).to.be.at.most(2);
      await Promise.all([...runs, ...submits, ...streams]);
      // Let go of once the last task that uses it has settled.
      expect(getEventListeners(signal, 'abort')).to.have.length(0);
      // And an abort still reaches every task that waits on it.
      const waiting = Array.from({ length: 15 }, () =>
        pool.run(() => new Promise<never>(() => {}), null, { signal }).catch((e: Error) => e.name),
      );
      ac.abort();
      expect(await Promise.all(waiting)).to.deep.equal(Array(15).fill('AbortError'));
      await new Promise((done) => setImmediate(done));
      expect(warnings.map((w) => w.name)).to.not.include('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      await Promise.all([pool.terminate(), loop.terminate()]);
    }
  });
});
