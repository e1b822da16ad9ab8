import type { Executor } from './executor';
import { watchForLeak } from './leak-warning';

const executors = new WeakMap<object, Executor>();

/** The engine of a pool or loop thread, for the operators. */
export function executorOf(owner: object): Executor {
  const executor = executors.get(owner);
  if (executor === undefined) throw new TypeError('Expected a ThreadPool or an EventLoopThread');
  return executor;
}

/**
 * What every owner of threads offers: a graceful `close()`, a forced `terminate()`, and the done
 * future (`done`, `onDone`) that tells when its threads have exited.
 */
export abstract class ThreadOwner {
  /** Resolves once closed or terminated (or, for a loop thread, dead) and every thread has exited. Never rejects. */
  readonly done: Promise<void>;
  readonly #executor: Executor;

  protected constructor(executor: Executor) {
    this.#executor = executor;
    this.done = executor.done;
    executors.set(this, executor);
    watchForLeak(this, executor);
  }

  /** Graceful: no new tasks; queued and running ones finish; then every thread exits. Resolves when done. */
  close(): Promise<void> {
    return this.#executor.close();
  }

  /** Forced: queued and running tasks reject with `AbortError`; threads are terminated. Resolves when done. */
  terminate(): Promise<void> {
    return this.#executor.terminate();
  }

  /** Calls `callback` once done (at once if it already is). */
  onDone(callback: () => void): void {
    this.#executor.onDone(callback);
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
