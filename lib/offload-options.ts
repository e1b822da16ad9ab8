import type { Transferable } from './context';
import { executorOf, isRemoteOwner } from './owner';
import { defaultPool, ThreadPool } from './pool';
import { checkRemotePairing, type RemoteTarget } from './remote/task';
import type { Placement, StreamOptions } from './stream';
import type { TaskLike } from './task';
import {
  checkInteger,
  checkIntegerOrInfinity,
  checkKnownKeys,
  checkObject,
  checkType,
  optionError,
  optionKeys,
} from './validate';

/**
 * Options of {@link offloadToThread} and {@link offloadFrom}.
 *
 * @example
 * ```ts
 * images$.pipe(offloadToThread(resize, { threads: 2, ordered: false, transfer: (img) => [img.buffer] }));
 * ```
 */
export interface OffloadOptions<I> {
  /** The pool to run on: a `ThreadPool`, or a `RemotePool` (`rxthreads/remote`) for a `remoteTask`. @default defaultPool() */
  pool?: ThreadPool | RemoteTarget;
  /** Instead of `pool`: a private pool of this many threads for each subscription, which owns them. */
  threads?: number;
  /** Tasks of this subscription running at once. @default the pool's size */
  concurrency?: number;
  /** Emit in source order (`true`) or completion order (`false`). @default true */
  ordered?: boolean;
  /** The buffers of an input to move to the thread rather than copy. */
  transfer?: (input: I) => Transferable[];
}

/** The options `offloadToThread` (and `offloadFrom`) accept: extend this list with each new option. */
const offloadOptionKeys = optionKeys<OffloadOptions<unknown>>()(
  'pool',
  'threads',
  'concurrency',
  'ordered',
  'transfer',
);

/** Checks the options at creation and returns how each subscription places its work. */
export function offloadSetup<I>(
  task: TaskLike<I, unknown>,
  options: OffloadOptions<I>,
  api = 'offloadToThread',
  moreKeys: readonly string[] = [],
): { place: () => Placement; stream: StreamOptions<I> } {
  checkObject('options', options);
  checkKnownKeys(api, options, [...offloadOptionKeys, ...moreKeys]);
  const { pool, threads } = options;
  const remote = isRemoteOwner(pool);
  if (pool !== undefined && !(pool instanceof ThreadPool) && !remote) {
    throw optionError('pool', 'a ThreadPool or a RemotePool', pool);
  }
  checkRemotePairing(task as TaskLike<never, unknown>, remote);
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
  const stream: StreamOptions<I> = {
    concurrency: options.concurrency ?? threads ?? pool?.size ?? defaultPool().size,
    ordered: options.ordered ?? true,
    transfer: options.transfer,
    limitBy: 'threads',
  };
  return { place, stream };
}
