import { availableParallelism } from 'node:os';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ThreadPool, type ThreadPoolStats } from '../../owners/pool';
import { type TaskLike, toTask } from '../../task/task';
import { DoneFuture } from '../../util/done-future';
import { ClosedError } from '../../util/errors';
import { checkOptions, optionError } from '../../util/options';
import { cancelChannel } from '../../wire/remote';
import { bullConnection, connect, connectTimeoutError, type RedisConnection } from '../connection';
import { type Answering, watchRedis, within } from '../watch';
import { defaultLockMs, type ServeTasksOptions, serveTasksTable } from './options';
import { JobProcessor, serverPool } from './processor';

/**
 * BullMQ's worker, able to stop renewing its jobs' locks when the server gives up on Redis. Its
 * `close()` stops the renewal only once its current jobs are finished, and with Redis gone one of
 * them (a fetch of the next job, on a connection dropped while it reconnected) may never be: the
 * renewal timer, which re-arms itself, then kept the process alive for ever.
 */
class ServerWorker extends Worker {
  stopLockRenewal(): void {
    void this.lockManager.close();
  }
}

export type { ServeTasksOptions } from './options';

/**
 * Statistics of a task server at one moment.
 *
 * @example
 * ```ts
 * const { running, served } = server.stats();
 * ```
 */
export interface TaskServerStats {
  /** Jobs taken from the queue and not finished. */
  running: number;
  /** Jobs whose outcome was reported (values and task errors alike). */
  served: number;
  /** Jobs cancelled by their caller while this worker held them. */
  cancelled: number;
  /** The local pool's statistics. */
  pool: ThreadPoolStats;
}

/**
 * What {@link serveTasks} returns: a worker process's server, with the done future of a pool.
 *
 * @example
 * ```ts
 * const server = serveTasks(options);
 * process.once('SIGTERM', () => void server.close());
 * ```
 */
export class TaskServer {
  /**
   * Resolves once connected to Redis, taking jobs and listening for cancels. Rejects with
   * `RemoteConnectionError` if that takes longer than `connectTimeout` (the server then closes
   * itself, and `done` resolves), or with `ClosedError` if the server is closed first. Need not be
   * awaited: a rejection is never an unhandled one.
   */
  readonly ready: Promise<void>;
  /** Resolves once closed or terminated and every thread has exited. Never rejects. */
  readonly done: Promise<void>;
  readonly #pool: ThreadPool;
  readonly #worker: ServerWorker;
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #jobs: JobProcessor;
  #lastError: Error | undefined;
  /** Rejects `ready` while it is pending: the server closed before it connected. */
  #notReady: (error: Error) => void = () => {};
  #closing: Promise<void> | undefined;
  readonly #closeGraceMs: number;
  /**
   * The command connection, as the close's Redis watch checks it. The check does not keep the
   * process alive: the PING of a connection that is down never settles, even once it is closed.
   */
  readonly #answering: Answering = { answers: (ms) => within(this.#client.ping(), ms, false) };
  readonly #ended = new DoneFuture();

  constructor(options: ServeTasksOptions) {
    if (options === undefined) throw optionError('options', 'an object', options);
    checkOptions('serveTasks', serveTasksTable, options);
    const tasks = new Map<string, TaskLike<unknown, unknown>>();
    for (const [name, task] of Object.entries(options.tasks)) {
      tasks.set(name, toTask(task as TaskLike<unknown, unknown>));
    }
    const threads = options.threads ?? availableParallelism();
    const prefix = options.prefix ?? 'bull';
    const lockDuration = options.lockDuration ?? defaultLockMs;
    this.done = this.#ended.promise;
    this.#closeGraceMs = options.closeGraceMs ?? 5000;
    this.#pool = new ThreadPool({ size: threads, cancelGraceMs: options.cancelGraceMs ?? 100, name: options.queue });
    this.#client = connect(options.connection, { maxRetriesPerRequest: null });
    this.#subscriber = connect(options.connection, { maxRetriesPerRequest: null });
    this.#client.on('error', (error: Error) => {
      this.#lastError = error;
    });
    this.#jobs = new JobProcessor(serverPool(this.#pool), this.#client, tasks, options.queue, (id) =>
      this.#worker.cancelJob(id, 'Cancelled by its caller'),
    );
    this.#worker = new ServerWorker(
      options.queue,
      // Three parameters: BullMQ passes the AbortSignal only to a processor that declares it.
      (job: Job, token?: string, signal?: AbortSignal) => this.#jobs.process(job, token, signal),
      {
        connection: bullConnection(options.connection, { maxRetriesPerRequest: null }),
        prefix,
        concurrency: options.concurrency ?? threads * 4,
        lockDuration,
        stalledInterval: options.stalledInterval ?? Math.max(1, Math.floor(lockDuration / 2)),
        // Runs are counted in the processor against the caller's `attempts`, so that a job whose
        // workers keep dying is reported to its caller rather than failed silently by BullMQ.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
      },
    );
    this.#worker.on('error', () => {}); // connection errors: BullMQ reconnects by itself
    const channel = cancelChannel(prefix, options.queue);
    this.#subscriber.on('message', (_channel: string, message: string) => this.#jobs.onCancel(message));
    const connected = Promise.all([
      this.#worker.waitUntilReady(),
      this.#subscriber.subscribe(channel),
      this.#client.status === 'ready' ? undefined : new Promise((resolve) => this.#client.once('ready', resolve)),
    ]);
    this.ready = this.#readyWithin(connected, options.connection, options.connectTimeout ?? 5000);
    // Handled here, so that a script that never awaits `ready` sees no unhandled rejection.
    this.ready.catch(() => void this.close());
  }

  /** `connected`, or a `RemoteConnectionError` once `ms` have passed without it. */
  #readyWithin(connected: Promise<unknown>, connection: RedisConnection, ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(connectTimeoutError(connection, ms, this.#lastError)), ms);
      this.#notReady = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      connected.then(() => {
        clearTimeout(timer);
        resolve();
      }, this.#notReady);
    });
  }

  /** Jobs running, served and cancelled, and the local pool's statistics, now. */
  stats(): TaskServerStats {
    return { ...this.#jobs.counts(), pool: this.#pool.stats() };
  }

  /** Graceful: takes no more jobs, lets the running ones finish, then closes the threads and connections. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.done;
  }

  /**
   * Forced: takes no more jobs and aborts the running ones, which go back to the queue for another
   * worker (this counts as one of their runs); then closes the threads and connections.
   */
  terminate(): Promise<void> {
    this.#jobs.requeue = true;
    // The shutdown first: it closes BullMQ's worker at once, so that it takes no job from here on,
    // not even the ones aborted below as they go back to the queue (it took them again and ran them).
    this.#closing ??= this.#shutdown();
    this.#worker.cancelAllJobs('The worker is shutting down');
    return this.done;
  }

  /** Calls `callback` once done. */
  onDone(callback: () => void): void {
    this.#ended.onDone(callback);
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Closes gracefully while Redis answers. A Redis that leaves a PING unanswered for closeGraceMs
   * (down, frozen: ioredis may still call such a connection ready, and BullMQ's close waits for it)
   * is given up on: see `#abandon`.
   */
  async #shutdown(): Promise<void> {
    this.#notReady(new ClosedError('The task server was closed before it connected to Redis'));
    let closing = true;
    let abandoned: Promise<void> | undefined;
    const graceful = this.#closeGracefully().finally(() => {
      closing = false;
    });
    await Promise.race([
      graceful,
      watchRedis(
        this.#closeGraceMs,
        () => closing,
        () => this.#answering,
        () => {
          abandoned = this.#abandon();
        },
      ),
    ]);
    await abandoned;
    this.#ended.resolve();
  }

  async #closeGracefully(): Promise<void> {
    // Never connected (Redis unreachable): there is nothing to finish, and a graceful close would
    // wait for a connection that may never come.
    const connected = this.#client.status === 'ready';
    await this.#worker.close(!connected).catch(() => {});
    await (this.#jobs.requeue ? this.#pool.terminate() : this.#pool.close());
    for (const redis of [this.#subscriber, this.#client]) {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    }
  }

  /**
   * Gives up on a Redis that does not answer while closing: the running jobs are aborted and end
   * here without another command (see `JobProcessor.abandon`), the connections are dropped and the
   * threads ended. The graceful close is not waited for any more: a command of a connection dropped
   * while it was reconnecting never settles.
   */
  async #abandon(): Promise<void> {
    this.#jobs.abandon();
    this.#worker.cancelAllJobs('Redis does not answer: the worker is shutting down');
    this.#worker.stopLockRenewal();
    void this.#worker.disconnect().catch(() => {});
    this.#subscriber.disconnect();
    this.#client.disconnect();
    await this.#pool.terminate();
  }
}

/**
 * Serves named tasks to `RemotePool` callers: takes jobs from a BullMQ queue, runs each on a
 * local `ThreadPool`, and reports its outcome. Only the tasks of `tasks` run; job data never
 * names code. A caller's cancel aborts the task's `ctx.signal`; a task that ignores it has its
 * thread replaced after `cancelGraceMs`.
 *
 * @example
 * ```ts
 * const server = serveTasks({
 *   queue: 'thumbs',
 *   connection: 'redis://127.0.0.1:6379',
 *   threads: 4,
 *   tasks: { thumbnail: moduleTask(require.resolve('./thumbnail')) },
 * });
 * process.once('SIGTERM', () => void server.close());
 * ```
 */
export function serveTasks(options: ServeTasksOptions): TaskServer {
  return new TaskServer(options);
}
