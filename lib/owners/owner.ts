import type { Executor as ThreadEngine } from '../engine/engine';
import type { Executor } from '../engine/port';
import { watchForLeak } from './leak-warning';

const executors = new WeakMap<object, Executor>();

/** The engine of a thread owner or of a remote pool, as the operators use it. */
export function engineOf(owner: object): Executor {
  const executor = executors.get(owner);
  if (executor === undefined) throw new TypeError('Expected a ThreadPool or an EventLoopThread');
  return executor;
}

/** The engine of a pool or loop thread (local threads). */
export function executorOf(owner: object): ThreadEngine {
  const executor = engineOf(owner);
  if (executor.remote) throw new TypeError('Expected a ThreadPool or an EventLoopThread');
  return executor as ThreadEngine;
}

/** True for a `RemotePool` (of `rxthreads/remote`): its engine runs named tasks elsewhere. */
export function isRemoteOwner(owner: unknown): boolean {
  return typeof owner === 'object' && owner !== null && executors.get(owner)?.remote === true;
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
    // Only an engine of local threads can leak them unseen (a remote pool's connections hold the process).
    if ('threads' in executor) watchForLeak(this, executor as ThreadEngine);
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
