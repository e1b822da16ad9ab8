import { availableParallelism } from 'node:os';
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ThreadPool, type ThreadPoolStats } from '../../owners/pool';
import { type TaskLike, toTask } from '../../task/task';
import { DoneFuture } from '../../util/done-future';
import {
  AbortError,
  ClosedError,
  SerializationError,
  TaskError,
  TimeoutError,
  WorkerCrashedError,
} from '../../util/errors';
import { checkOptions, is, type OptionTable, optionError } from '../../util/options';
import {
  cancelChannel,
  decodeValue,
  encodeReply,
  encodeValue,
  type JobData,
  RemoteOutcome,
  type Reply,
  wireOf,
} from '../../wire/remote';
import { bullConnection, connect, connectTimeoutError, type RedisConnection, remoteQueueTable } from '../connection';

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
}

const serveTasksTable: OptionTable<ServeTasksOptions> = {
  ...remoteQueueTable,
  tasks: (name, value) => {
    if (typeof value !== 'object' || value === null) throw optionError(name, 'an object', value);
  },
  threads: is.positiveInteger,
  concurrency: is.positiveInteger,
  cancelGraceMs: is.nonNegative,
  lockDuration: is.positiveInteger,
  stalledInterval: is.positiveInteger,
};

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

interface ReplyCommand {
  rxthreadsReply(list: string, live: string, reply: Buffer, ttlMs: number): Promise<number>;
}

/** A job's lock and stall check defaults: short, since the event loop never runs task code. */
const defaultLockMs = 10_000;
/** How long a cancel that arrived before its job was kept for it. */
const earlyCancelMs = 60_000;
/** How long an unread reply list survives its caller. */
const replyTtlMs = 3_600_000;

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
  readonly #worker: Worker;
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #tasks: Map<string, TaskLike<unknown, unknown>>;
  readonly #queue: string;
  /** Cancels that came before their job reached the processor, by job id, with when they expire. */
  readonly #early = new Map<string, number>();
  /** The order in which the jobs running here started, by job id. */
  readonly #order = new Map<string, number>();
  #started = 0;
  /** Inputs handed to the pool and not settled. */
  #inPool = 0;
  #requeue = false;
  #lastError: Error | undefined;
  /** Rejects `ready` while it is pending: the server closed before it connected. */
  #notReady: (error: Error) => void = () => {};
  #closing: Promise<void> | undefined;
  readonly #ended = new DoneFuture();
  #running = 0;
  #served = 0;
  #cancelled = 0;

  constructor(options: ServeTasksOptions) {
    if (options === undefined) throw optionError('options', 'an object', options);
    checkOptions('serveTasks', serveTasksTable, options);
    this.#queue = options.queue;
    this.#tasks = new Map();
    for (const [name, task] of Object.entries(options.tasks)) {
      this.#tasks.set(name, toTask(task as TaskLike<unknown, unknown>));
    }
    const threads = options.threads ?? availableParallelism();
    const prefix = options.prefix ?? 'bull';
    const lockDuration = options.lockDuration ?? defaultLockMs;
    this.done = this.#ended.promise;
    this.#pool = new ThreadPool({ size: threads, cancelGraceMs: options.cancelGraceMs ?? 100, name: options.queue });
    this.#client = connect(options.connection, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    this.#subscriber = connect(options.connection, { maxRetriesPerRequest: null });
    this.#client.on('error', (error: Error) => {
      this.#lastError = error;
    });
    // One atomic step: a caller that has closed (its live key deleted) gets nothing more on its list.
    this.#client.defineCommand('rxthreadsReply', {
      numberOfKeys: 2,
      lua: `if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
    });
    this.#worker = new Worker(
      options.queue,
      // Three parameters: BullMQ passes the AbortSignal only to a processor that declares it.
      (job: Job, token?: string, signal?: AbortSignal) => this.#process(job, token, signal),
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
    this.#subscriber.on('message', (_channel: string, message: string) => this.#onCancel(message));
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
    return { running: this.#running, served: this.#served, cancelled: this.#cancelled, pool: this.#pool.stats() };
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
    this.#requeue = true;
    this.#worker.cancelAllJobs('The worker is shutting down');
    this.#closing ??= this.#shutdown();
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

  async #shutdown(): Promise<void> {
    this.#notReady(new ClosedError('The task server was closed before it connected to Redis'));
    // Never connected (Redis unreachable): there is nothing to finish, and a graceful close would
    // wait for a connection that may never come.
    const connected = this.#client.status === 'ready';
    await this.#worker.close(!connected).catch(() => {});
    await (this.#requeue ? this.#pool.terminate() : this.#pool.close());
    for (const redis of [this.#subscriber, this.#client]) {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    }
    this.#ended.resolve();
  }

  /** Pushes one outcome onto its caller's reply list, only while that caller's live key exists. */
  #reply(data: JobData, reply: Buffer): Promise<unknown> {
    return (this.#client as unknown as ReplyCommand).rxthreadsReply(data.r, data.l, reply, replyTtlMs);
  }

  #onCancel(message: string): void {
    let ids: unknown;
    try {
      ids = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(ids)) return;
    const now = Date.now();
    for (const [id, until] of this.#early) if (until < now) this.#early.delete(id);
    // Newest first: the pool runs jobs in the order they came, so the newest still wait for a
    // thread (or sit on one, handed ahead of time). Cancelled first, they cannot start in the moment
    // a thread is freed by aborting an older, running one.
    const known = ids.filter((id): id is string => typeof id === 'string');
    known.sort((a, b) => (this.#order.get(b) ?? -1) - (this.#order.get(a) ?? -1));
    for (const id of known) {
      // Not running here: it may be on its way to this processor (moved to active in Redis, not yet
      // started), so the cancel is kept for it. For a job on another worker it just expires.
      if (!this.#worker.cancelJob(id, 'Cancelled by its caller')) this.#early.set(id, now + earlyCancelMs);
    }
  }

  async #process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const data = job.data as JobData;
    const id = job.id ?? '';
    if (this.#early.delete(id) || signal?.aborted) {
      this.#cancelled++;
      throw new UnrecoverableError('Cancelled by its caller');
    }
    this.#running++;
    this.#order.set(id, this.#started++);
    // One signal per input, aborted last first, for the reason given in #onCancel.
    const inputs = data.i.map(() => new AbortController());
    const abort = (reason: unknown): void => {
      for (let i = inputs.length - 1; i >= 0; i--) inputs[i]!.abort(reason);
    };
    const onAbort = (): void => abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    // A job whose caller closed or died is stopped: nobody waits for its outcome. Checked beside
    // the run rather than before it, so that a live caller's job does not wait for the answer.
    void this.#client.exists(data.l).then(
      (live) => {
        if (live === 0) abort(new AbortError('Its caller is gone'));
      },
      () => {},
    );
    try {
      // Each input's outcome goes out as soon as it is known (the client pipelines them), so that
      // an ordered stream can emit the first inputs of a batch while the others still run.
      const sent: Promise<unknown>[] = [];
      let aborted = false;
      await Promise.all(
        data.i.map(async (input, index) => {
          // The time of one input on a thread, estimated from its wait: with `ahead` inputs before
          // it in the pool, it waited about ahead / threads turns of that time before it ran.
          const ahead = this.#inPool++;
          const started = performance.now();
          const outcome = await this.#run(job, data, input, inputs[index]!.signal).finally(() => this.#inPool--);
          if (outcome === undefined) {
            aborted = true;
            return;
          }
          const [kind, value, exitCode] = outcome;
          const ms = (performance.now() - started) / (Math.floor(ahead / this.#pool.size) + 1);
          const reply: Reply = [id, index, kind, value, exitCode, ms];
          sent.push(this.#reply(data, encodeReply(reply)));
          this.#served++;
        }),
      );
      await Promise.all(sent);
      if (aborted) {
        this.#cancelled++;
        if (this.#requeue && token !== undefined) {
          await job.moveToWait(token);
          throw new WaitingError();
        }
        throw new UnrecoverableError('Cancelled by its caller');
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#order.delete(id);
      this.#running--;
    }
  }

  /** The error of a job for a task name this worker does not serve: what was asked for, and what is served. */
  #notServed(name: string): Error {
    const served = [...this.#tasks.keys()].sort().join(', ');
    const serves = served === '' ? 'this worker serves no tasks' : `this worker serves: ${served}`;
    return new Error(
      `No task named ${JSON.stringify(name)} is served on queue ${JSON.stringify(this.#queue)}; ${serves}`,
    );
  }

  /** The outcome of one input, or `undefined` for a cancelled one (nobody waits for it). */
  async #run(
    job: Job,
    data: JobData,
    input: string,
    signal: AbortSignal | undefined,
  ): Promise<[RemoteOutcome, unknown, number?] | undefined> {
    if (job.attemptsStarted > data.a) {
      const cause = new Error(
        `The job ran ${data.a} time${data.a === 1 ? '' : 's'} (attempts) and its worker stopped each time`,
      );
      return [RemoteOutcome.Crashed, wireOf(cause), 1];
    }
    const task = this.#tasks.get(data.t);
    if (task === undefined) return [RemoteOutcome.Threw, wireOf(this.#notServed(data.t))];
    let value: unknown;
    try {
      value = decodeValue(Buffer.from(input, 'base64'));
    } catch (error) {
      return [RemoteOutcome.Unclonable, wireOf(error)];
    }
    try {
      const result = await this.#pool.run(task, value, { signal, timeout: data.o > 0 ? data.o : undefined });
      return [RemoteOutcome.Ok, encodeValue(result, 'The result')];
    } catch (error) {
      if (signal?.aborted && error instanceof AbortError) return undefined;
      if (error instanceof TimeoutError) return [RemoteOutcome.TimedOut, wireOf(error), error.timeout];
      if (error instanceof TaskError) return [RemoteOutcome.Threw, wireOf(error)];
      if (error instanceof SerializationError) return [RemoteOutcome.Unclonable, wireOf(error.cause ?? error)];
      if (error instanceof WorkerCrashedError) return [RemoteOutcome.Crashed, wireOf(error), error.exitCode];
      if (error instanceof TypeError) {
        // pool.run refused the task itself: a streaming (generator) task, which does not run remotely.
        const refused = new TypeError(`The worker cannot run task '${data.t}' remotely: ${error.message}`);
        return [RemoteOutcome.Threw, wireOf(refused)];
      }
      return [RemoteOutcome.Threw, wireOf(error)];
    }
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
