import type { OperatorFunction } from 'rxjs';
import type { Transferable } from '../lib/context';
import { defaultPool, executorOf, ThreadPool } from '../lib/pool';
import { type Placement, threadMap } from '../lib/stream';
import type { TaskLike } from '../lib/task';
import { checkInteger, checkIntegerOrInfinity, checkObject, checkType, optionError } from '../lib/validate';

/** Options of {@link offloadToThread}. */
export interface OffloadOptions<I> {
  /** The pool to run on. @default defaultPool() */
  pool?: ThreadPool;
  /** Instead of `pool`: a private pool of this many threads for each subscription, which owns them. */
  threads?: number;
  /** Tasks of this subscription running at once. @default the pool's size */
  concurrency?: number;
  /** Emit in source order (`true`) or completion order (`false`). @default true */
  ordered?: boolean;
  /** The buffers of an input to move to the thread rather than copy. */
  transfer?: (input: I) => Transferable[];
}

/**
 * Runs a task on a pool thread for each source value and emits the results, like `asyncio.to_thread`
 * for a stream. Unsubscribing cancels the work inside the threads.
 *
 * @example
 * ```ts
 * range(1, 1000).pipe(
 *   offloadToThread((n: number) => n * n),
 *   toArray(),
 * ).subscribe(console.log);
 * ```
 */
export function offloadToThread<I, O>(task: TaskLike<I, O>, options: OffloadOptions<I> = {}): OperatorFunction<I, O> {
  checkObject('options', options);
  const { pool, threads } = options;
  if (pool !== undefined && !(pool instanceof ThreadPool)) throw optionError('pool', 'a ThreadPool', pool);
  checkInteger('threads', threads, 1);
  if (pool !== undefined && threads !== undefined) {
    throw optionError('threads', 'unset when `pool` is given', threads);
  }
  checkIntegerOrInfinity('concurrency', options.concurrency, 1);
  checkType('ordered', options.ordered, 'boolean');
  checkType('transfer', options.transfer, 'function');

  const place = (): Placement => {
    if (threads !== undefined) {
      const own = new ThreadPool({ size: threads });
      return { executor: executorOf(own), release: (_outcome, then) => void own.close().then(then) };
    }
    return { executor: executorOf(pool ?? defaultPool()), release: (_outcome, then) => then() };
  };
  return threadMap(task, place, {
    concurrency: options.concurrency ?? threads ?? pool?.size ?? defaultPool().size,
    ordered: options.ordered ?? true,
    transfer: options.transfer,
    limitBy: 'threads',
  });
}
