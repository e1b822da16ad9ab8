import { Slot } from '../wire/thread';
import { ContextBase } from './context';

/** What a job's context needs of the thread's job runner (`JobRunner`). */
export interface ContextRunner {
  /** Slot states in shared memory. */
  readonly states: Int32Array;
  /** Jobs abandoned by the main thread that may still be running here. */
  abandoned: number;
  finish(slot: number, started: number, now: number): boolean;
  valueEnded(slot: number, started: number, now: number, jobStarted: number): void;
  notRunning(now: number): void;
}

/** The context of a job on a pool or event-loop thread: `aborted` reads its slot's state. */
export class JobContext extends ContextBase {
  private endedAborted: boolean | undefined;
  /** Set when the main thread abandoned this job: it no longer owns its slot. */
  private left = false;

  constructor(
    private readonly runner: ContextRunner,
    private readonly slot: number,
    private readonly started: number,
    /** When its job began; for a value of a job of several, -1 but for the last, which ends the job. */
    private readonly jobStarted: number,
    /** A value of a job of several values. */
    readonly ofSeveral: boolean,
  ) {
    super();
  }

  get aborted(): boolean {
    if (this.endedAborted !== undefined) return this.endedAborted;
    // Abandoned: its slot may already hold another job, whose state says nothing about this one.
    if (this.left) return true;
    const state = Atomics.load(this.runner.states, this.slot);
    return state === Slot.Aborted || state === Slot.Abandoned;
  }

  /**
   * The job is over: freeze what `aborted` says for anyone who kept this context, free the slot.
   * Returns false for an abandoned job, whose outcome must not be sent: the main thread no longer
   * waits for it, and its slot may soon hold another job.
   */
  end(): boolean {
    this.endedAborted = this.aborted;
    const now = performance.now();
    if (this.left) {
      this.runner.abandoned--;
      return false;
    }
    if (!this.ofSeveral) return this.runner.finish(this.slot, this.started, now);
    this.runner.valueEnded(this.slot, this.started, now, this.jobStarted);
    return true;
  }

  /**
   * The main thread abandoned this job while it runs: it ends with the thread, unheard. From now on
   * it no longer counts as running (the thread's busy time, for `utilization`).
   */
  leave(): void {
    this.left = true;
    this.runner.abandoned++;
    this.runner.notRunning(performance.now());
  }
}
