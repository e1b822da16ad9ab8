import type { ResourceLimits } from 'node:worker_threads';
import type { ThreadEngine } from '../engine/engine';
import type { Group } from '../engine/job';
import { defaultThreadCount } from '../engine/local/platform';
import type { WorkerSpawnOptions } from '../engine/local/worker-options';
import type { ThreadPoolStats } from '../engine/metrics';
import type { TaskLike } from '../task/task';
import { QueueFullError } from '../util/errors';
import { checkOptions, is, type OptionTable } from '../util/options';
import { ThreadOwner, threadEngineOf } from './owner';
import { checkSubmitOptions, type SubmitOptions, submitJob } from './submit';
import { threadEngine, threadOwnerTable } from './thread-options';

export type { ThreadPoolStats };

/**
 * Options of a {@link ThreadPool}.
 *
 * @example
 * ```ts
 * new ThreadPool({ size: 4, maxQueue: 1_000, cancelGraceMs: 250, name: 'images' });
 * ```
 */
export interface ThreadPoolOptions extends WorkerSpawnOptions {
  /** Threads in the pool, at most 1024 (they all start at its first task). @default os.availableParallelism() (in a browser: navigator.hardwareConcurrency - 1, at least 1) */
  size?: number;
  /** Tasks that may wait for a thread; `run` beyond it rejects with `QueueFullError`. @default Infinity */
  maxQueue?: number;
  /** How long a cancelled running task may take to stop by itself before its thread is replaced. @default 100 */
  cancelGraceMs?: number;
  /**
   * How long a thread may take to end by itself on `close()` (its `onThreadClose` callbacks, then
   * its event loop draining) before it is terminated. @default 5000
   */
  closeGraceMs?: number;
  /** Limits for each thread's heap and stack; a thread over them dies with `WorkerCrashedError`. */
  resourceLimits?: ResourceLimits;
  /** A name for the pool's threads, shown in debuggers and errors. */
  name?: string;
}

const threadPoolTable: OptionTable<ThreadPoolOptions> = {
  size: is.threadCount,
  maxQueue: is.countOrInfinity,
  ...threadOwnerTable,
};

/**
 * A pool of worker threads that run tasks, like an executor: each `run` call takes a thread.
 *
 * @example
 * ```ts
 * await using pool = new ThreadPool({ size: 2 });
 * const nine = await pool.run((x: number) => x * x, 3);
 * ```
 */
export class ThreadPool extends ThreadOwner {
  /** Threads in the pool. */
  readonly size: number;
  readonly #executor: ThreadEngine;
  readonly #maxQueue: number;
  readonly #runs: Group;

  constructor(options: ThreadPoolOptions = {}) {
    checkOptions('ThreadPool', threadPoolTable, options);
    const size = options.size ?? defaultThreadCount();
    const executor = threadEngine(
      options,
      { size, mode: 'sequential', slotCount: 1024, replaceCrashed: true },
      'ThreadPool',
    );
    super(executor);
    this.#executor = executor;
    this.size = size;
    this.#maxQueue = options.maxQueue ?? Number.POSITIVE_INFINITY;
    this.#runs = executor.openGroup(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  }

  /**
   * Runs a task on a pool thread.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * const sum = pool.run(moduleTask<number, number>('/abs/path/sum.js'), 1e9, { signal: ac.signal });
   * ```
   */
  run<I, O>(task: TaskLike<I, O>, input: I, options?: SubmitOptions): Promise<O> {
    checkSubmitOptions(options);
    const executor = this.#executor;
    if (
      this.#maxQueue !== Number.POSITIVE_INFINITY &&
      executor.isOpen &&
      executor.waitingIn(this.#runs) - executor.idleThreads() >= this.#maxQueue
    ) {
      return Promise.reject(new QueueFullError(`The pool's queue is full (maxQueue ${this.#maxQueue})`));
    }
    return submitJob(executor, this.#runs, task, input, options);
  }

  /**
   * Threads, busy threads, queued tasks, task counters, utilization, and run and wait times, now.
   *
   * @example
   * ```ts
   * const { utilization, runTime, waitTime } = pool.stats();
   * console.log(`${(utilization * 100).toFixed(0)} % busy, p99 run ${runTime.p99} ms, p99 wait ${waitTime.p99} ms`);
   * ```
   */
  stats(): ThreadPoolStats {
    return this.#executor.stats();
  }
}

let shared: ThreadPool | undefined;

/**
 * The shared pool that `offloadToThread` uses, created on first use. If it has been closed, the
 * next call creates a new one.
 *
 * @example
 * ```ts
 * const answer = await defaultPool().run(() => 42, undefined);
 * ```
 */
export function defaultPool(): ThreadPool {
  if (shared === undefined || !threadEngineOf(shared).isOpen) shared = new ThreadPool({ name: 'rxthreads-default' });
  return shared;
}
