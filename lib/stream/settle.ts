import { SerializationError, TaskError, TimeoutError, WorkerCrashedError } from '../util/errors';

/**
 * The outcome of one input when an operator runs with `settle: true`: the `Promise.allSettled`
 * shape, plus the input it came from.
 *
 * @example
 * ```ts
 * const report = (entry: Settled<string, number>) =>
 *   entry.status === 'fulfilled' ? `${entry.input}: ${entry.value}` : `${entry.input} failed: ${entry.reason.message}`;
 * ```
 */
export type Settled<I, O> = SettledFulfilled<I, O> | SettledRejected<I>;

/**
 * An input whose task returned (or, for a streaming task, yielded) a value.
 *
 * @example
 * ```ts
 * const ok: SettledFulfilled<number, number> = { status: 'fulfilled', value: 4, input: 2 };
 * ```
 */
export interface SettledFulfilled<I, O> {
  readonly status: 'fulfilled';
  readonly value: O;
  readonly input: I;
}

/**
 * An input whose task failed: `reason` is a `TaskError`, `TimeoutError`, `SerializationError` or
 * `WorkerCrashedError`.
 *
 * @example
 * ```ts
 * const failed: SettledRejected<number> = { status: 'rejected', reason: new Error('bad'), input: 2 };
 * ```
 */
export interface SettledRejected<I> {
  readonly status: 'rejected';
  readonly reason: Error;
  readonly input: I;
}

/** Whether an error belongs to one input only, so that `settle` turns it into a `rejected` entry. */
export function isPerInputError(error: unknown): error is Error {
  return (
    error instanceof TaskError ||
    error instanceof TimeoutError ||
    error instanceof SerializationError ||
    error instanceof WorkerCrashedError
  );
}
