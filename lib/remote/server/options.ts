import type { TaskLike } from '../../task/task';
import { is, type OptionTable, optionError } from '../../util/options';
import { type RedisConnection, remoteQueueTable } from '../connection';

/**
 * Options of {@link serveTasks}.
 *
 * @example
 * ```ts
 * serveTasks({ queue: 'thumbs', connection: 'redis://127.0.0.1:6379', threads: 4, tasks: { thumbnail } });
 * ```
 */
export interface ServeTasksOptions {
  /** The BullMQ queue to take jobs from. */
  queue: string;
  /** Where Redis is: a `redis://` URL or ioredis options. */
  connection: RedisConnection;
  /** The tasks this worker runs, by name; a job naming anything else fails with `TaskError`. */
  tasks: Record<string, TaskLike<never, unknown>>;
  /** Threads of the local pool that runs the tasks. @default os.availableParallelism() */
  threads?: number;
  /** Jobs taken from the queue at once (more than `threads` hides Redis round trips). @default threads * 4 */
  concurrency?: number;
  /** A cancelled task still running after this long has its thread replaced. @default 100 */
  cancelGraceMs?: number;
  /**
   * How long a job's lock lasts without renewal: a worker that dies has its jobs run again by
   * another about this long (plus `stalledInterval`) later. Tasks run on threads, so the
   * worker's event loop stays free to renew it. @default 10000
   */
  lockDuration?: number;
  /** How often this worker looks for jobs whose worker died. @default lockDuration / 2 */
  stalledInterval?: number;
  /** BullMQ's key prefix; callers must use the same. @default 'bull' */
  prefix?: string;
  /**
   * How long the server waits for Redis: past it, `ready` rejects with `RemoteConnectionError`
   * and the server closes itself. @default 5000
   */
  connectTimeout?: number;
  /**
   * How long `close()` and `terminate()` wait for a Redis that does not answer (down, hung or out
   * of reach). While Redis answers, `close()` lets the running jobs finish however long they take;
   * once a check has gone unanswered this long, the running jobs are aborted (another worker runs
   * them again once their locks expire, as one of their `attempts`), the connections are dropped,
   * the threads end and `done` resolves. With 0, closing does not wait for Redis at all.
   * @default 5000
   */
  closeGraceMs?: number;
}

/** How `serveTasks` checks its options. */
export const serveTasksTable: OptionTable<ServeTasksOptions> = {
  ...remoteQueueTable,
  tasks: (name, value) => {
    if (typeof value !== 'object' || value === null) throw optionError(name, 'an object', value);
  },
  threads: is.threadCount,
  concurrency: is.positiveInteger,
  cancelGraceMs: is.delay,
  // Timers of BullMQ's: beyond a timer's limit Node fires them at once (a stall check every 1 ms).
  lockDuration: is.timerMs,
  stalledInterval: is.timerMs,
  closeGraceMs: is.delay,
};

/** A job's lock and stall check defaults: short, since the event loop never runs task code. */
export const defaultLockMs = 10_000;
