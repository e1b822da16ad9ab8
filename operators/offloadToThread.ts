import type { OperatorFunction } from 'rxjs';
import { type OffloadOptions, offloadSetup } from '../lib/stream/offload-options';
import type { Settled } from '../lib/stream/settle';
import { threadMap } from '../lib/stream/stream';
import { type Emitted, type TaskLike, toTask } from '../lib/task/task';
import { callerSite } from '../lib/util/caller-site';

export type { OffloadOptions } from '../lib/stream/offload-options';

/**
 * Runs a task on a pool thread for each source value and emits the results, like `asyncio.to_thread`
 * for a stream. Unsubscribing cancels the work inside the threads. With `settle: true` it emits a
 * {@link Settled} entry per input instead of failing on one input's error.
 *
 * @example
 * ```ts
 * range(1, 1000).pipe(
 *   offloadToThread((n: number) => n * n),
 *   toArray(),
 * ).subscribe(console.log);
 * ```
 */
export function offloadToThread<I, O>(
  task: TaskLike<I, O>,
  options: OffloadOptions<I> & { settle: true },
): OperatorFunction<I, Settled<I, Emitted<O>>>;
export function offloadToThread<I, O>(
  task: TaskLike<I, O>,
  options?: OffloadOptions<I> & { settle?: false },
): OperatorFunction<I, Emitted<O>>;
export function offloadToThread<I, O>(
  task: TaskLike<I, O>,
  options?: OffloadOptions<I>,
): OperatorFunction<I, Emitted<O> | Settled<I, Emitted<O>>>;
export function offloadToThread<I, O>(
  task: TaskLike<I, O>,
  options: OffloadOptions<I> = {},
): OperatorFunction<I, Emitted<O> | Settled<I, Emitted<O>>> {
  const { place, stream } = offloadSetup(task, options);
  // The task is made now, so that an inline task is named after this call, not after a subscribe.
  // A TaskError the stream errors with names the frames of this call.
  return threadMap<I, Emitted<O> | Settled<I, Emitted<O>>>(toTask(task), place, stream, callerSite());
}
