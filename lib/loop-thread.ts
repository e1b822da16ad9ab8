import type { ResourceLimits } from 'node:worker_threads';
import { WorkerCrashedError } from './errors';
import { Executor } from './executor';
import type { Group } from './job';
import { registerExecutor } from './pool';
import { checkSubmitOptions, type SubmitOptions, submitJob } from './submit';
import type { TaskLike } from './task';
import { checkObject, checkType } from './validate';

/** Options of an {@link EventLoopThread}. */
export interface EventLoopThreadOptions {
  /** A name for the thread, shown in debuggers and errors. */
  name?: string;
  /** Limits for the thread's heap and stack. */
  resourceLimits?: ResourceLimits;
}

/**
 * One long-lived thread running its own event loop: submitted tasks run there at once,
 * interleaved, and module state (a client, a cache, a connection) lives as long as the thread.
 *
 * @example
 * ```ts
 * await using loop = new EventLoopThread({ name: 'io' });
 * const body = await loop.submit(moduleTask<string, string>('/abs/fetcher.js', 'get'), 'key');
 * ```
 */
export class EventLoopThread {
  /** Resolves once the thread's event loop is running. */
  readonly ready: Promise<void>;
  /** Resolves once the thread was closed or terminated (or died) and has exited. Never rejects. */
  readonly done: Promise<void>;
  readonly #executor: Executor;
  readonly #submissions: Group;

  constructor(options: EventLoopThreadOptions = {}) {
    checkObject('options', options);
    checkType('name', options.name, 'string');
    checkObject('resourceLimits', options.resourceLimits);
    this.#executor = new Executor({
      size: 1,
      mode: 'concurrent',
      cancelGraceMs: Number.POSITIVE_INFINITY,
      resourceLimits: options.resourceLimits,
      name: options.name,
      slotCount: 16384,
      replaceCrashed: false,
    });
    this.#submissions = this.#executor.openGroup(1, Number.POSITIVE_INFINITY);
    this.done = this.#executor.done;
    const executor = this.#executor;
    this.ready = new Promise<void>((resolve, reject) => {
      executor.onReady = resolve;
      void executor.done.then(() =>
        reject(new WorkerCrashedError(1, { cause: new Error('The thread ended before its loop started') })),
      );
    });
    this.ready.catch(() => {}); // only those who await it should see a thread that never started
    registerExecutor(this, executor);
    executor.start();
  }

  /**
   * Runs a task on this thread's event loop, alongside everything else submitted to it.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * const reply = loop.submit((ms: number, ctx) => new Promise((r) => setTimeout(r, ms, 'ok')), 50, { signal: ac.signal });
   * ```
   */
  submit<I, O>(task: TaskLike<I, O>, input: I, options?: SubmitOptions): Promise<O> {
    checkSubmitOptions(options);
    return submitJob(this.#executor, this.#submissions, task, input, options);
  }

  /** Graceful: no new tasks; those in flight finish; then the thread exits. */
  close(): Promise<void> {
    return this.#executor.close();
  }

  /** Forced: tasks in flight reject with `AbortError`; the thread is terminated. */
  terminate(): Promise<void> {
    return this.#executor.terminate();
  }

  /** Calls `callback` once the thread is done (at once if it already is). */
  onDone(callback: () => void): void {
    this.#executor.onDone(callback);
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
