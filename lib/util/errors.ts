/**
 * A task threw (or rejected) inside a thread.
 *
 * `message` is the original message; `cause` is the original error rebuilt on this side, with
 * its `name`, `message`, `stack` and own enumerable properties.
 *
 * @example
 * ```ts
 * pool.run((x: number) => { throw new RangeError(`bad ${x}`) }, 1)
 *   .catch((e) => e instanceof TaskError && e.cause.name === 'RangeError');
 * ```
 */
export class TaskError extends Error {
  override readonly name = 'TaskError';
  declare readonly cause: Error;
  constructor(message: string, options: { cause: Error }) {
    super(message, options);
  }
}

/**
 * The thread running a task died (`process.exit`, an uncaught error, out of memory) before the
 * task settled. Only that task fails; the thread is replaced.
 *
 * @example
 * ```ts
 * pool.run(() => process.exit(3), null).catch((e) => e.exitCode); // 3
 * ```
 */
export class WorkerCrashedError extends Error {
  override readonly name = 'WorkerCrashedError';
  /** The thread's exit code. */
  readonly exitCode: number;
  constructor(exitCode: number, options?: { cause?: unknown; message?: string }) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : ` with exit code ${exitCode}`;
    super(options?.message ?? `The thread running this task died${why}`, options);
    this.exitCode = exitCode;
  }
}

/**
 * A task's input or result could not be cloned across threads. `cause` is the `DataCloneError`.
 *
 * @example
 * ```ts
 * pool.run((f) => f, () => 1).catch((e) => e instanceof SerializationError); // a function can't be cloned
 * ```
 */
export class SerializationError extends Error {
  override readonly name = 'SerializationError';
}

/**
 * Work was cancelled: an `AbortSignal` fired, a subscription ended, or the owner was terminated.
 * Its `name` is `"AbortError"`, like the DOM's.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const p = pool.run(slowTask, 1, { signal: ac.signal });
 * ac.abort(); // p rejects with AbortError at once
 * ```
 */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A task ran on its thread for longer than its `timeout` option allows. The task was cancelled as
 * on unsubscribe (its `ctx.signal` fired; a task that ignores it has its thread replaced after
 * `cancelGraceMs`).
 *
 * @example
 * ```ts
 * pool.run(slowTask, 1, { timeout: 100 }).catch((e) => e instanceof TimeoutError); // true after 100 ms
 * ```
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  /** The timeout that was exceeded, in ms. */
  readonly timeout: number;
  constructor(timeout: number, options?: { cause?: unknown }) {
    super(`The task ran for longer than its timeout of ${timeout} ms`, options);
    this.timeout = timeout;
  }
}

/**
 * Work was submitted to a pool or loop thread that is closing or closed.
 *
 * @example
 * ```ts
 * await pool.close();
 * pool.run(task, 1).catch((e) => e instanceof ClosedError); // true
 * ```
 */
export class ClosedError extends Error {
  override readonly name = 'ClosedError';
}

/**
 * `ThreadPool.run` was called while `maxQueue` tasks were already waiting for a thread.
 *
 * @example
 * ```ts
 * const pool = new ThreadPool({ size: 1, maxQueue: 0 });
 * pool.run(task, 1); // takes the thread
 * pool.run(task, 2).catch((e) => e instanceof QueueFullError); // true
 * ```
 */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

/** The error an operation ends with when its `signal` aborts (`cause`: the signal's reason). */
export function abortedBy(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}
