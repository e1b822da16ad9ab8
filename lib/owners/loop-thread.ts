import type { ResourceLimits } from 'node:worker_threads';
import type { ThreadEngine } from '../engine/engine';
import type { Group } from '../engine/job';
import type { WorkerSpawnOptions } from '../engine/local/worker-options';
import type { ThreadPoolStats } from '../engine/metrics';
import type { TaskLike } from '../task/task';
import { ClosedError, WorkerCrashedError } from '../util/errors';
import { checkOptions } from '../util/options';
import { ThreadOwner } from './owner';
import { checkSubmitOptions, type SubmitOptions, submitJob } from './submit';
import { threadEngine, threadOwnerTable } from './thread-options';

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
  /**
   * How long a cancelled task may take to settle before it is abandoned: its slot is freed, it no
   * longer holds the process, and `close()` no longer waits for it (it ends with the thread). The
   * thread is never replaced for it, since its other tasks live on. @default 100
   */
  cancelGraceMs?: number;
  /**
   * How long the thread may take to end by itself on `close()` (its `onThreadClose` callbacks, then
   * its event loop draining) before it is terminated. @default 5000
   */
  closeGraceMs?: number;
}

/** The options `new EventLoopThread()` accepts: extend this list with each new option. */

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
  readonly #executor: ThreadEngine;
  readonly #submissions: Group;

  constructor(options: EventLoopThreadOptions = {}) {
    checkOptions('EventLoopThread', threadOwnerTable, options);
    const executor = threadEngine(
      options,
      { size: 1, mode: 'concurrent', slotCount: 16384, replaceCrashed: false },
      'EventLoopThread',
    );
    super(executor);
    this.#executor = executor;
    this.#submissions = executor.openGroup(1, Number.POSITIVE_INFINITY);
    this.ready = new Promise<void>((resolve, reject) => {
      executor.whenReady(resolve, () => reject(new ClosedError('The loop thread was closed before its loop started')));
      void executor.done.then(() =>
        reject(new WorkerCrashedError(1, { cause: new Error('The thread ended before its loop started') })),
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
