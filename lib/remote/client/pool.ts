import { ThreadOwner } from '../../owners/owner';
import { checkOptions, is, type OptionTable, optionError } from '../../util/options';
import { type RedisConnection, remoteQueueTable } from '../connection';
import { RemoteEngine } from './engine';
import type { RemoteTarget } from './task';

/**
 * Options of a {@link RemotePool}.
 *
 * @example
 * ```ts
 * new RemotePool({ queue: 'thumbs', connection: 'redis://127.0.0.1:6379', size: 32, attempts: 2 });
 * ```
 */
export interface RemotePoolOptions {
  /** The BullMQ queue that the workers (`serveTasks`, `rxthreads-worker`) serve. */
  queue: string;
  /** Where Redis is: a `redis://` URL or ioredis options. */
  connection: RedisConnection;
  /** Inputs each subscription keeps in flight when the operator's `concurrency` is not given. @default 64 */
  size?: number;
  /** Runs of one job allowed when the workers running it die; beyond, it fails with `WorkerCrashedError`. @default 3 */
  attempts?: number;
  /** How long the first job waits for Redis before failing with `RemoteConnectionError`. @default 5000 */
  connectTimeout?: number;
  /**
   * How long `close()` and `terminate()` wait for a Redis that does not answer (down, hung or out
   * of reach). While Redis answers, `close()` waits for the inputs in flight to finish; once a
   * check has gone unanswered this long, those inputs fail with `RemoteConnectionError` (saying
   * how many were abandoned), the connections are dropped and `done` resolves. The pool's keys in
   * Redis then expire by themselves. With 0, closing does not wait for Redis at all.
   * @default 5000
   */
  closeGraceMs?: number;
  /** BullMQ's key prefix; workers must use the same. @default 'bull' */
  prefix?: string;
  /**
   * Most inputs of one subscription sent together as one BullMQ job, each still with its own
   * outcome: BullMQ's cost per job dominates small tasks.
   * @default sized from the tasks' durations: 1 for tasks of 10 ms or more (and until a duration
   * is known), up to an eighth of the subscription's concurrency (at most 64) for tiny ones
   */
  batchSize?: number;
}

const remotePoolTable: OptionTable<RemotePoolOptions> = {
  ...remoteQueueTable,
  size: is.positiveInteger,
  attempts: is.positiveInteger,
  closeGraceMs: is.delay,
  batchSize: is.positiveInteger,
};

/**
 * Statistics of a remote pool at one moment.
 *
 * @example
 * ```ts
 * const { inFlight, completed } = remote.stats();
 * ```
 */
export interface RemotePoolStats {
  /** Jobs waiting on this side for their subscription's `concurrency` to allow them. */
  queued: number;
  /** Jobs in Redis or on a worker, whose outcome has not arrived. */
  inFlight: number;
  /** Jobs whose task returned a value. */
  completed: number;
  /** Jobs that failed (task error, serialization, crash, lost connection). */
  failed: number;
  /** Jobs cancelled before they settled. */
  cancelled: number;
}

/**
 * Runs `remoteTask`s on worker processes through a BullMQ queue in Redis: the operators take it as
 * their `pool`, unchanged. Execution is at least once (a job whose worker dies runs again on
 * another, up to `attempts`), emission exactly once. See docs/remote.md.
 *
 * @example
 * ```ts
 * const remote = new RemotePool({ queue: 'thumbs', connection: 'redis://127.0.0.1:6379' });
 * files$.pipe(offloadToThread(remoteTask<string, Thumb>('thumbnail'), { pool: remote, concurrency: 32 }));
 * await remote.close();
 * ```
 */
export class RemotePool extends ThreadOwner implements RemoteTarget {
  /** Jobs each subscription keeps in flight when the operator's `concurrency` is not given. */
  readonly size: number;
  /** The BullMQ queue's name. */
  readonly queue: string;
  readonly #executor: RemoteEngine;

  constructor(options: RemotePoolOptions) {
    if (options === undefined) throw optionError('options', 'an object', options);
    checkOptions('RemotePool', remotePoolTable, options);
    const executor = new RemoteEngine({
      queue: options.queue,
      connection: options.connection,
      prefix: options.prefix ?? 'bull',
      attempts: options.attempts ?? 3,
      connectTimeout: options.connectTimeout ?? 5000,
      closeGraceMs: options.closeGraceMs ?? 5000,
      batchSize: options.batchSize,
    });
    super(executor);
    this.#executor = executor;
    this.size = options.size ?? 64;
    this.queue = options.queue;
  }

  /** Jobs waiting, in flight, and settled, now. */
  stats(): RemotePoolStats {
    return this.#executor.stats();
  }
}
