import type { JobHandle, StreamSpecHandle } from '../../engine/port';
import { Queue } from '../../util/queue';

export interface RemoteJob extends JobHandle {
  readonly group: RemoteGroup;
  /** The input serialized (base64), as sent; both are let go of once it settles. */
  readonly data: string;
  input: unknown;
  settled: boolean;
  /** The BullMQ job carrying it, once handed to Redis (or on its way). */
  batch: Batch | undefined;
}

/**
 * One BullMQ job: consecutive inputs of one group for one task. Per-job cost in Redis dominates
 * small tasks, so several inputs share a job; each outcome still comes back on its own.
 */
export interface Batch {
  readonly id: string;
  readonly jobs: RemoteJob[];
  /** Inputs not settled yet: at 0 the job is of no more use, and a cancel removes or aborts it. */
  open: number;
  /** Handed to BullMQ: takes no more inputs. */
  sealed: boolean;
}

/** One subscription's jobs: those not sent yet wait here, at most `limit` are in Redis at once. */
export class RemoteGroup {
  /** The task's name in the workers' `tasks` map; '' for a task that is not a remote task. */
  readonly name: string;
  readonly waiting = new Queue<RemoteJob>();
  /** Inputs in Redis or on a worker, not settled yet. */
  sent = 0;
  readonly batches = new Set<Batch>();
  /** The batch that inputs are added to until the next flush seals it. */
  filling: Batch | undefined;
  constructor(
    readonly limit: number,
    readonly spec: StreamSpecHandle,
    name: string | undefined,
  ) {
    this.name = name ?? '';
  }

  get idle(): boolean {
    return this.sent === 0 && this.waiting.length === 0;
  }
}
