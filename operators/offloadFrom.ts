import type { Observable } from 'rxjs';
import { type OffloadOptions, offloadSetup, offloadTable } from '../lib/stream/offload-options';
import type { Settled } from '../lib/stream/settle';
import { threadMapIterable } from '../lib/stream/stream';
import type { Emitted, TaskLike } from '../lib/task/task';
import { callerSite } from '../lib/util/caller-site';
import { is, type OptionTable, optionError } from '../lib/util/options';

/**
 * Options of {@link offloadFrom}.
 *
 * @example
 * ```ts
 * offloadFrom(lines, parseLine, { highWaterMark: 256, ordered: false });
 * ```
 */
export interface OffloadFromOptions<I> extends OffloadOptions<I> {
  /**
   * Most values read from the source and not yet emitted; reading pauses at this mark, and resumes
   * once an eighth of it is free (so values reach the threads in chunks). @default 4096
   */
  highWaterMark?: number;
}

const offloadFromTable: OptionTable<OffloadFromOptions<unknown>> = {
  ...offloadTable,
  highWaterMark: is.positiveInteger,
};

/**
 * Runs a task on pool threads for each value of an iterable or async iterable, reading the source
 * only as capacity frees: at most `highWaterMark` values are read and not yet emitted, so a huge
 * or endless source is processed in bounded memory. Unsubscribing stops reading (the iterator's
 * `return()` runs) and cancels the work inside the threads.
 *
 * @example
 * ```ts
 * import { createReadStream } from 'node:fs';
 * import { createInterface } from 'node:readline';
 *
 * const lines = createInterface({ input: createReadStream('big.log') });
 * offloadFrom(lines, (line: string) => line.length, { highWaterMark: 512 }).subscribe(console.log);
 * ```
 */
export function offloadFrom<I, O>(
  source: Iterable<I> | AsyncIterable<I>,
  task: TaskLike<I, O>,
  options: OffloadFromOptions<I> & { settle: true },
): Observable<Settled<I, Emitted<O>>>;
export function offloadFrom<I, O>(
  source: Iterable<I> | AsyncIterable<I>,
  task: TaskLike<I, O>,
  options?: OffloadFromOptions<I> & { settle?: false },
): Observable<Emitted<O>>;
export function offloadFrom<I, O>(
  source: Iterable<I> | AsyncIterable<I>,
  task: TaskLike<I, O>,
  options?: OffloadFromOptions<I>,
): Observable<Emitted<O> | Settled<I, Emitted<O>>>;
export function offloadFrom<I, O>(
  source: Iterable<I> | AsyncIterable<I>,
  task: TaskLike<I, O>,
  options: OffloadFromOptions<I> = {},
): Observable<Emitted<O> | Settled<I, Emitted<O>>> {
  // A string is iterable (its characters), as RxJS's `from` takes it.
  const iterable =
    typeof source === 'string' ||
    (typeof source === 'object' && source !== null && (Symbol.iterator in source || Symbol.asyncIterator in source));
  if (!iterable) throw optionError('source', 'an iterable or async iterable', source);
  const { place, stream } = offloadSetup(task, options, 'offloadFrom', offloadFromTable);
  return threadMapIterable<I, Emitted<O> | Settled<I, Emitted<O>>>(
    source,
    task,
    place,
    stream,
    options.highWaterMark ?? 4096,
    callerSite(),
  );
}
