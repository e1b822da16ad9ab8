import type { ResourceLimits } from 'node:worker_threads';
import { ClosedError, WorkerCrashedError } from './errors';
import { Executor } from './executor';
import type { Group } from './job';
import { ThreadOwner } from './owner';
import type { ThreadPoolStats } from './pool';
import { checkResourceLimits } from './resource-limits';
import { checkSubmitOptions, type SubmitOptions, submitJob } from './submit';
import type { TaskLike } from './task';
import { checkObject, checkType } from './validate';
import { type WorkerSpawnOptions, workerSpawnOptions } from './worker-options';

/**
 * Options of an {@link EventLoopThread}.
 *
 * @example
 * ```ts
 * new EventLoopThread({ name: 'io', resourceLimits: { maxOldGenerationSizeMb: 256 } });
 * ```
 */
export interface EventLoopThreadOptions extends WorkerSpawnOptions {
  /** A name for the thread, shown in debuggers and errors. */
  name?: string;
  /** Limits for the thread's heap and stack. */
  resourceLimits?: ResourceLimits;
}

/**
 * One long-lived thread running its own event loop: submitted tasks run there at once,
 * interleaved, and module state (a client, a cache, a connection) lives as long as the thread.
 *
 * @example
 * ```ts
 * await using loop = new EventLoopThread({ name: 'io' });
 * const body = await loop.submit(moduleTask<string, string>('/abs/fetcher.js', 'get'), 'key');
 * ```
 */
export class EventLoopThread extends ThreadOwner {
  /** Resolves once the thread's event loop is running. */
  readonly ready: Promise<void>;
  readonly #executor: Executor;
  readonly #submissions: Group;

  constructor(options: EventLoopThreadOptions = {}) {
    checkObject('options', options);
    checkType('name', options.name, 'string');
    checkResourceLimits(options.resourceLimits);
    const worker = workerSpawnOptions(options);
    const executor = new Executor({
      size: 1,
      mode: 'concurrent',
      cancelGraceMs: Number.POSITIVE_INFINITY,
      resourceLimits: options.resourceLimits,
      name: options.name,
      worker,
      slotCount: 16384,
      replaceCrashed: false,
    });
    super(executor);
    this.#executor = executor;
    this.#submissions = executor.openGroup(1, Number.POSITIVE_INFINITY);
    this.ready = new Promise<void>((resolve, reject) => {
      executor.onReady = resolve;
      void executor.done.then(() =>
        reject(
          executor.endedByOwner
            ? new ClosedError('The loop thread was closed before its loop started')
            : new WorkerCrashedError(1, { cause: new Error('The thread ended before its loop started') }),
        ),
      );
    });
    this.ready.catch(() => {}); // only those who await it should see a thread that never started
    executor.start();
  }

  /**
   * Tasks running and queued, task counters, utilization (the share of time since creation with at
   * least one task in progress), and run and wait times, now. `threads` is 1 while the thread lives.
   *
   * @example
   * ```ts
   * const { busy, runTime } = loop.stats();
   * ```
   */
  stats(): ThreadPoolStats {
    return this.#executor.stats();
  }

  /**
   * Runs a task on this thread's event loop, alongside everything else submitted to it.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * const reply = loop.submit((ms: number, ctx) => new Promise((r) => setTimeout(r, ms, 'ok')), 50, { signal: ac.signal });
   * ```
   */
  submit<I, O>(task: TaskLike<I, O>, input: I, options?: SubmitOptions): Promise<O> {
    checkSubmitOptions(options);
    return submitJob(this.#executor, this.#submissions, task, input, options);
  }
}
