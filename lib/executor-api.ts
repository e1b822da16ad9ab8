import type { Transferable } from './context';
import type { Settle } from './job';
import type { TaskDefinition } from './protocol';

/** A submitter's handle on the jobs it runs together (a subscription): opaque to the operators. */
export type GroupHandle = object;

/** A job as the operators see it: whether it has settled yet. */
export interface JobHandle {
  readonly settled: boolean;
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
  /** Queues a job; `settle` is called exactly once. */
  submit(
    group: GroupHandle,
    def: TaskDefinition,
    input: unknown,
    transfer: readonly Transferable[] | undefined,
    settle: Settle,
  ): JobHandle;
  /** Cancels one job: a queued one never starts; a running one sees its signal fire. */
  cancel(job: JobHandle, reason?: Error): void;
  /** Cancels every job of a group, queued or running. */
  cancelGroup(group: GroupHandle, reason?: Error): void;
  close(): Promise<void>;
  terminate(): Promise<void>;
  /** Calls `callback` once done. */
  onDone(callback: () => void): void;
}
