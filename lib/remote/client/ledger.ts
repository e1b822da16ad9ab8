import type { Batch, RemoteGroup, RemoteJob } from './group';

/**
 * The books of a remote engine's inputs: which groups and batches hold them, and how many wait, are
 * in flight, and ended how. The engine's paths (sending, outcomes, closing) all keep them.
 */
export class Ledger {
  /** Batches in Redis or on a worker with inputs not settled, by BullMQ job id. */
  readonly inFlight = new Map<string, Batch>();
  /** Groups with inputs waiting on this side or in flight. */
  readonly groups = new Set<RemoteGroup>();
  /** Inputs waiting on this side for their group's limit. */
  queued = 0;
  /** Inputs in Redis or on a worker, not settled. */
  sent = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;

  /** Hands `job` its outcome, then lets go of its input and the input's serialized form. */
  settle(job: RemoteJob, error: Error | undefined, value?: unknown): void {
    job.settled = true;
    job.group.spec.settle(error, value, job);
    // Let go of the input and its serialized form once its outcome is out (the stream read it).
    job.input = undefined;
    (job as { data: string }).data = '';
  }

  /**
   * Takes a sent input out of the books (it settled, was cancelled, or was lost); true when that
   * was the last open input of its batch, whose BullMQ job is then of no more use.
   */
  forget(job: RemoteJob): boolean {
    const batch = job.batch!;
    job.group.sent--;
    this.sent--;
    if (--batch.open > 0) return false;
    this.inFlight.delete(batch.id);
    job.group.batches.delete(batch);
    return true;
  }

  /** The counts of `RemotePool.stats()`, in inputs. */
  stats(): { queued: number; inFlight: number; completed: number; failed: number; cancelled: number } {
    return {
      queued: this.queued,
      inFlight: this.sent,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
    };
  }
}
