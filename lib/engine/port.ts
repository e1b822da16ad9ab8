import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';

/** The "result" a streaming job settles with when its generator has finished: it has no value. */
export const streamEnded: unique symbol = Symbol('rxthreads.streamEnded');

/** A submitter's handle on the jobs it runs together (a subscription): opaque to the operators. */
export type GroupHandle = object;

/** A job as the operators see it. */
export interface JobHandle {
  /** Settled: a result, an error, or cancelled. */
  readonly settled: boolean;
  /** Its input (`undefined` once a cancelled queued job let go of it). */
  readonly input: unknown;
  /** The submitter's number for it (its input's position in a stream), or -1. */
  readonly tag: number;
  /**
   * Set above 0 for a job of several consecutive values of a stream: `input` is their array and
   * `tag` the first one's position. Absent or 0 for a job of one value.
   */
  readonly values?: number;
}

/** What every input of a stream shares: its task, its timeout, and the object that takes its outcomes. */
export interface StreamSpecHandle {
  readonly def: TaskDefinition;
  /** Ms a task may run once started on its thread; 0 for no limit. */
  readonly timeout: number;
  /**
   * Called exactly once per input: with an error, or with `undefined` and the result. `index` says
   * which value of a job of several (`job.values`) it is for; 0 or absent for a job of one.
   */
  settle(error: Error | undefined, value: unknown, job: JobHandle, index?: number): void;
  /** Called with the values a streaming (generator) task yields, in order; `index` as for `settle`. */
  yielded(job: JobHandle, values: unknown[], index?: number): void;
  /**
   * Optional, for speed: results `results[from]` to `results[to - 1]` of the job of several values'
   * values `index` on, in order, as that many calls of `settle` would give them. Returns how many it
   * took before the stream ended (the rest are dropped, as `settle` would drop them).
   */
  settleRun?(job: JobHandle, index: number, results: ArrayLike<unknown>, from: number, to: number): number;
}

/**
 * What the operators and the thread owners use of an engine: the local thread engine
 * (`ThreadEngine`, engine.ts) and the remote one (`lib/remote/client/`) both implement it.
 */
export interface Engine {
  /** True until `close()` or `terminate()`. */
  readonly isOpen: boolean;
  /** Resolves once closed or terminated and everything it owns has ended. Never rejects. */
  readonly done: Promise<void>;
  /**
   * Throws a `TypeError` if this engine cannot run tasks of `def`'s kind: local threads run tasks from
   * code (module, inline), a remote pool only named tasks. Called when an operator or a call is made.
   */
  checkTask(def: TaskDefinition): void;
  /** A stream's group: at most `maxThreads` threads (or workers) and `maxInFlight` jobs at once. */
  openStream(maxThreads: number, maxInFlight: number, spec: StreamSpecHandle): GroupHandle;
  /** Queues one input of a stream; `tag` is its position, handed back on its job. */
  feed(group: GroupHandle, input: unknown, transfer: readonly Transferable[] | undefined, tag: number): void;
  /** Cancels every job of a group, queued or running. */
  cancelGroup(group: GroupHandle, reason?: Error): void;
  /** A streaming job's caller has taken `values` more of its yielded values (backpressure credit). */
  grant(job: JobHandle, values: number): void;
  /** Graceful; `graceMs`, if given and shorter, bounds how long a closing thread may take. */
  close(graceMs?: number): Promise<void>;
  terminate(): Promise<void>;
  /** Calls `callback` once done. */
  onDone(callback: () => void): void;
}

/**
 * After an unsubscribe or an error, the most the threads a stream owns (a private pool, an
 * `inThread` stage) have for their teardown and close callbacks before they are terminated
 * (whatever `closeGraceMs` says): a cancelled stage's threads are gone within ~1 s.
 */
export const cancelCloseGraceMs = 1000;
