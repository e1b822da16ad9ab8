import type { Transferable } from './context';
import type { Settle } from './job';
import type { TaskDefinition } from './protocol';

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
}

/**
 * What the operators, `run()` and the thread owners use of an engine: the local thread engine
 * (`lib/executor.ts`) and the remote one (`lib/remote/`) both implement it.
 */
export interface Executor {
  /** True until `close()` or `terminate()`. */
  readonly isOpen: boolean;
  /** Resolves once closed or terminated and everything it owns has ended. Never rejects. */
  readonly done: Promise<void>;
  /** Set only by an engine that runs named tasks elsewhere (`RemotePool`). */
  readonly remote?: true;
  /** A group of jobs with at most `maxThreads` threads (or workers) and `maxInFlight` jobs at once. */
  openGroup(maxThreads: number, maxInFlight: number): GroupHandle;
  /**
   * Queues a job; `settle` is called exactly once. `timeout`: ms it may run once started (0: no
   * limit). `yielded`: called with the values a streaming (generator) task yields, in order.
   */
  submit(
    group: GroupHandle,
    def: TaskDefinition,
    input: unknown,
    transfer: readonly Transferable[] | undefined,
    settle: Settle,
    timeout?: number,
    yielded?: (job: JobHandle, values: unknown[]) => void,
    tag?: number,
  ): JobHandle;
  /** A streaming job's caller has taken `values` more of its yielded values (backpressure credit). */
  grant(job: JobHandle, values: number): void;
  /** Cancels one job: a queued one never starts; a running one sees its signal fire. */
  cancel(job: JobHandle, reason?: Error): void;
  /** Cancels every job of a group, queued or running. */
  cancelGroup(group: GroupHandle, reason?: Error): void;
  close(): Promise<void>;
  terminate(): Promise<void>;
  /** Calls `callback` once done. */
  onDone(callback: () => void): void;
}
