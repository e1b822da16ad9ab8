import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';
import type { ClockReading } from '../util/clock';
import { Slot } from '../wire/words';
import type { SlotTable } from './slots';

/** Bytes of buffer inputs after which a batch is sent at once, and a thread takes no more ahead of time. */
export const batchBytes = 1024 * 1024;

/** What a thread handle needs of a job it holds (the engine's `Job`). */
export interface HeldJob {
  readonly def: TaskDefinition;
  readonly input: unknown;
  readonly transfer: readonly Transferable[] | undefined;
  /** Ms it may run; > 0: the main thread watches its start. */
  readonly timeout: number;
  /** True for a job whose caller takes a stream of values. */
  readonly yielded: boolean;
  readonly submittedAt: ClockReading;
  /** Its submitter's jobs, compared by identity only. */
  readonly group: { readonly inFlight: number };
  thread: SlotHolder<HeldJob> | undefined;
  slot: number;
  /** Bytes of buffer input, counted while a thread holds the job. */
  bytes: number;
  /** Its transfer list was posted to a thread: the input is gone from here, so it can never run elsewhere. */
  moved: boolean;
  /** Values it carries: 0 for one (its input), n ≥ 1 for a job of n values. */
  values: number;
  /** Values of a job of several whose outcome has arrived. */
  readonly delivered: number;
}

/**
 * The jobs a thread holds, by slot, until the thread acknowledges each: what is free, what is in
 * flight, and what becomes of them when the thread is ended. The slot words in shared memory
 * (`slots`) say which the thread has started and finished.
 */
export abstract class SlotHolder<J extends HeldJob> {
  /** The job in each slot, until the thread acknowledges it. */
  readonly jobs: (J | undefined)[];
  private readonly free: number[] = [];
  inFlight = 0;
  /** Values in the jobs it holds (a job of several counts each): what the scheduler fills up to a depth. */
  load = 0;
  /** Each slot's share of `load`. */
  private readonly loads: Int32Array;
  /** Bytes of buffer input in the jobs it holds. */
  protected heldBytes = 0;

  constructor(readonly slots: SlotTable) {
    this.jobs = new Array(slots.count);
    this.loads = new Int32Array(slots.count);
    for (let slot = slots.count - 1; slot >= 0; slot--) this.free.push(slot);
  }

  /** The thread holds no job any more: it need not hold the process. */
  protected abstract idle(): void;

  /** Takes a free slot for a job of `values` values (0: one). */
  protected takeSlot(values: number): number | undefined {
    const slot = this.free.pop();
    if (slot === undefined) return undefined;
    const load = values === 0 ? 1 : values;
    this.loads[slot] = load;
    this.load += load;
    return slot;
  }

  /**
   * Whether the thread may take another job ahead of time: fewer than `depth` values, and less than
   * a batch's worth of buffer input (large inputs gain nothing from waiting on a thread).
   */
  hasRoom(depth: number): boolean {
    return (
      this.load < depth && this.inFlight < this.slots.count && (this.heldBytes < batchBytes || this.inFlight === 0)
    );
  }

  /** Frees a slot the thread has acknowledged; returns the job that was in it, if still tracked. */
  release(slot: number): J | undefined {
    const job = this.jobs[slot];
    this.jobs[slot] = undefined;
    if (job !== undefined) this.heldBytes -= job.bytes;
    this.load -= this.loads[slot]!;
    this.loads[slot] = 0;
    this.free.push(slot);
    if (--this.inFlight === 0) this.idle();
    return job;
  }

  /**
   * Revokes the job in `slot` if the thread has not started it (compare-and-swap against the
   * thread's own swap to `Started`): it never will. Its slot stays taken until the thread answers
   * `Skipped`, so no slot is reused while the thread may still read it.
   */
  revoke(slot: number): boolean {
    if (this.slots.swap(slot, Slot.Pending, Slot.Revoked) !== Slot.Pending) return false;
    this.heldBytes -= this.jobs[slot]!.bytes;
    this.jobs[slot] = undefined;
    return true;
  }

  /**
   * Takes back the jobs of a thread that is being ended or has died: those it never started
   * (their words swapped to `Revoked`, so they never will) and those it started and did not
   * finish. Finished ones stay: their results may still arrive, until the thread's exit. So does a
   * started job of several values whose earlier values finished and are not delivered yet.
   */
  takeBack(): { pending: J[]; started: J[] } {
    const pending: J[] = [];
    const started: J[] = [];
    this.eachJob((job, slot) => {
      const state = this.slots.swap(slot, Slot.Pending, Slot.Revoked);
      if (state === Slot.Finished) return;
      if (state !== Slot.Pending && state !== Slot.Cancelled) {
        started.push(job);
        if (job.values > 0 && this.slots.progress(slot) > job.delivered) return;
      }
      this.forget(slot);
      if (state === Slot.Pending) pending.push(job);
    });
    return { pending, started };
  }

  /** Takes every job the thread still holds, whatever its state (it was terminated, or has exited). */
  takeAll(): J[] {
    const all: J[] = [];
    this.eachJob((job, slot) => {
      this.forget(slot);
      all.push(job);
    });
    return all;
  }

  /** The first job held that the thread has started and not finished (a pool thread runs one). */
  runningJob(): J | undefined {
    let running: J | undefined;
    this.eachJob((job, slot) => {
      if (running === undefined && this.slots.isRunning(slot)) running = job;
    });
    return running;
  }

  /** The jobs this thread holds and has not started, whose input may still go elsewhere. */
  unstarted(): J[] {
    const jobs: J[] = [];
    this.eachJob((job, slot) => {
      if (!job.moved && this.slots.state(slot) === Slot.Pending) jobs.push(job);
    });
    return jobs;
  }

  /** True if any held job has started (for `busy`). */
  get running(): boolean {
    return this.runningJob() !== undefined;
  }

  /** Jobs held but not started: of `group`, or of every group (for `queued`). */
  waitingOf(group?: HeldJob['group']): number {
    if (group?.inFlight === 0) return 0;
    let count = 0;
    this.eachJob((job, slot) => {
      if ((group === undefined || job.group === group) && this.slots.state(slot) === Slot.Pending) {
        count += job.values === 0 ? 1 : job.values;
      }
    });
    return count;
  }

  private eachJob(each: (job: J, slot: number) => void): void {
    const jobs = this.jobs;
    for (let slot = 0; slot < jobs.length; slot++) {
      const job = jobs[slot];
      if (job !== undefined) each(job, slot);
    }
  }

  /** Lets go of the job in a slot of a thread that will not answer for it. */
  private forget(slot: number): void {
    this.heldBytes -= this.jobs[slot]!.bytes;
    this.jobs[slot] = undefined;
    this.load -= this.loads[slot]!;
    this.loads[slot] = 0;
    this.inFlight--;
  }
}
