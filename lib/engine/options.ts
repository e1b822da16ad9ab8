import type { ResourceLimits } from 'node:worker_threads';
import type { RunMode } from '../wire/thread';
import type { WorkerSpawnOptions } from './local/worker-options';

/** How a thread engine runs its threads: what a pool and a loop thread each make of their options. */
export interface EngineOptions {
  /** The owner, as errors name it: `ThreadPool "images"`. */
  readonly owner: string;
  readonly size: number;
  readonly mode: RunMode;
  /** How long a cancelled running job may take to stop before its thread is replaced (a pool) or it is abandoned (a loop). */
  readonly cancelGraceMs: number;
  /** How long a closing thread may take to exit by itself before it is terminated. */
  readonly closeGraceMs: number;
  readonly resourceLimits: ResourceLimits | undefined;
  /** `env`, `execArgv` and `argv` for each Worker. */
  readonly worker?: WorkerSpawnOptions;
  readonly name: string | undefined;
  /** Slots per thread: the most jobs one thread can hold at once. */
  readonly slotCount: number;
  /**
   * A pool replaces a crashed thread, and one whose cancelled job runs past the grace period; an
   * event-loop thread ends with a crash, and abandons a cancelled job instead (its other tasks live on).
   */
  readonly replaceCrashed: boolean;
}
