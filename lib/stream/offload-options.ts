import { cancelCloseGraceMs } from '../engine/port';
import { EventLoopThread } from '../owners/loop-thread';
import { engineOf, isOwner, type RemoteTarget, threadEngineOf } from '../owners/owner';
import { defaultPool, ThreadPool } from '../owners/pool';
import type { Transferable } from '../task/context';
import { definitionOf } from '../task/definition';
import { type TaskLike, toTask } from '../task/task';
import { checkOptions, is, type OptionTable, optionError } from '../util/options';
import type { Placement, StreamOptions } from './run';
import type { Settled } from './settle';

/**
 * Options that `offloadToThread`, `offloadFrom` and `runOnLoop` share.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * files$.pipe(offloadToThread(parse, { signal: ac.signal, timeout: 5_000, settle: true }));
 * ```
 */
export interface StreamControlOptions {
  /**
   * Aborting it cancels the stream's work as unsubscribing does, and errors the output with an
   * `AbortError` whose `cause` is `signal.reason`. Already aborted: the output errors at subscribe,
   * before any value reaches a thread.
   */
  signal?: AbortSignal;
  /**
   * Ms one task may run on its thread: its own run time, from its start on the thread; time spent
   * queued, or (a streaming task) waiting while its values are held back for ordering, is not counted. A task past it is
   * cancelled as on unsubscribe (`ctx.signal` fires; one that ignores it has its thread replaced
   * after `cancelGraceMs`) and fails with `TimeoutError`.
   * @default no limit
   */
  timeout?: number;
  /**
   * Emit one {@link Settled} entry per input instead of failing the stream when a task fails:
   * `TaskError`, `TimeoutError`, `SerializationError` and `WorkerCrashedError` of one input become
   * `rejected` entries and the stream goes on. Source errors, `signal` and unsubscribe behave as
   * without it.
   * @default false
   */
  settle?: boolean;
}

/** The options every stream operator takes, checked as one family. */
export const streamControlTable: OptionTable<StreamControlOptions> = {
  signal: is.signal,
  timeout: is.timeout,
  settle: is.boolean,
};

/** How a stream operator spreads its values over threads: `offloadToThread`, `offloadFrom`, `runOnLoop`. */
export const streamShapeTable = {
  concurrency: is.positiveIntegerOrInfinity,
  ordered: is.boolean,
  transfer: is.function,
} as const;

/** What a stream needs of {@link StreamControlOptions}, checked already, with their defaults. */
export function streamControl(options: StreamControlOptions): {
  signal: AbortSignal | undefined;
  timeout: number;
  settle: boolean;
} {
  return { signal: options.signal, timeout: options.timeout ?? 0, settle: options.settle ?? false };
}

/**
 * Options of {@link offloadToThread} and {@link offloadFrom}.
 *
 * @example
 * ```ts
 * images$.pipe(offloadToThread(resize, { threads: 2, ordered: false, transfer: (img) => [img.buffer] }));
 * ```
 */
export interface OffloadOptions<I> extends StreamControlOptions {
  /** The pool to run on: a `ThreadPool`, or a `RemotePool` (`rxthreads/remote`) for a `remoteTask`. @default defaultPool() */
  pool?: ThreadPool | RemoteTarget;
  /** Instead of `pool`: a private pool of this many threads (at most 1024) for each subscription, which owns them. */
  threads?: number;
  /** Tasks of this subscription running at once. @default the pool's size */
  concurrency?: number;
  /** Emit in source order (`true`) or completion order (`false`). @default true */
  ordered?: boolean;
  /** The buffers of an input to move to the thread rather than copy. */
  transfer?: (input: I) => Transferable[];
}

/** The options `offloadToThread` takes (and `offloadFrom`, with more). */
export const offloadTable: OptionTable<OffloadOptions<unknown>> = {
  pool: (name, pool) => {
    // An EventLoopThread is an owner too, but runs tasks concurrently on one thread: runOnLoop's work.
    if (pool !== undefined && (!isOwner(pool) || pool instanceof EventLoopThread)) {
      throw optionError(name, 'a ThreadPool or a RemotePool (for an EventLoopThread, use runOnLoop)', pool);
    }
  },
  threads: is.threadCount,
  ...streamShapeTable,
  ...streamControlTable,
};

/** Checks the options at creation and returns how each subscription places its work. */
export function offloadSetup<I>(
  task: TaskLike<I, unknown>,
  options: OffloadOptions<I>,
  api = 'offloadToThread',
  table: OptionTable<OffloadOptions<unknown>> = offloadTable,
): { place: () => Placement; stream: StreamOptions<I> } {
  checkOptions(api, table, options);
  const { pool, threads } = options;
  if (pool !== undefined && threads !== undefined) {
    throw optionError('threads', 'unset when `pool` is given', threads);
  }
  (pool === undefined ? threadEngineOf(defaultPool()) : engineOf(pool)).checkTask(definitionOf(toTask(task)));

  const place = (): Placement => {
    if (threads !== undefined) {
      const own = new ThreadPool({ size: threads });
      const engine = threadEngineOf(own);
      // Cancelled (an unsubscribe or an error), its threads are gone within cancelGraceMs + 1 s.
      const release = (outcome: string, then: () => void) =>
        void engine.close(outcome === 'complete' ? undefined : cancelCloseGraceMs).then(then);
      return { engine, release };
    }
    return {
      engine: pool === undefined ? threadEngineOf(defaultPool()) : engineOf(pool),
      release: (_outcome, then) => then(),
    };
  };
  const stream: StreamOptions<I> = {
    concurrency: options.concurrency ?? threads ?? pool?.size ?? defaultPool().size,
    ordered: options.ordered ?? true,
    transfer: options.transfer,
    limitBy: 'threads',
    ...streamControl(options),
  };
  return { place, stream };
}
