import { ThreadEngine } from '../engine/engine';
import type { Engine } from '../engine/port';
import { watchForLeak } from './leak-warning';

const engines = new WeakMap<object, Engine>();

/** The engine of an owner (a pool, a loop thread, a remote pool), as the operators use it: its port. */
export function engineOf(owner: object): Engine {
  const engine = engines.get(owner);
  if (engine === undefined) throw new TypeError('Expected a ThreadPool or an EventLoopThread');
  return engine;
}

/** True for an owner of an engine of its own: a `ThreadPool`, an `EventLoopThread`, a `RemotePool`. */
export function isOwner(value: unknown): value is ThreadOwner {
  return typeof value === 'object' && value !== null && engines.has(value);
}

/** The engine of a pool or loop thread (local threads). */
export function threadEngineOf(owner: object): ThreadEngine {
  const engine = engineOf(owner);
  if (!(engine instanceof ThreadEngine)) throw new TypeError('Expected a ThreadPool or an EventLoopThread');
  return engine;
}

/**
 * What every owner of threads offers: a graceful `close()`, a forced `terminate()`, and the done
 * future (`done`, `onDone`) that tells when its threads have exited.
 */
export abstract class ThreadOwner {
  /** Resolves once closed or terminated (or, for a loop thread, dead) and every thread has exited. Never rejects. */
  readonly done: Promise<void>;
  readonly #engine: Engine;

  protected constructor(engine: Engine) {
    this.#engine = engine;
    this.done = engine.done;
    engines.set(this, engine);
    // Only an engine of local threads can leak them unseen (a remote pool's connections hold the process).
    if (engine instanceof ThreadEngine) watchForLeak(this, engine);
  }

  /** Graceful: no new tasks; queued and running ones finish; then every thread exits. Resolves when done. */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Forced: queued and running tasks reject with `AbortError`; threads are terminated. Resolves when done. */
  terminate(): Promise<void> {
    return this.#engine.terminate();
  }

  /** Calls `callback` once done (at once if it already is). */
  onDone(callback: () => void): void {
    this.#engine.onDone(callback);
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * What `offloadToThread` accepts as a `pool` besides a `ThreadPool`: an owner whose engine runs the
 * work elsewhere, such as a `RemotePool` of `rxthreads/remote`.
 *
 * @example
 * ```ts
 * const target: RemoteTarget = new RemotePool({ queue: 'thumbs', connection: 'redis://127.0.0.1:6379' });
 * ```
 */
export interface RemoteTarget extends ThreadOwner {
  /** Jobs in flight per subscription when the operator's `concurrency` is not given. */
  readonly size: number;
}
