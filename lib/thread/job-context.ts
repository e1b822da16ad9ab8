import { Slot } from '../wire/words';
import { ContextBase } from './context';

/** What a job's context needs of the thread's job runner (`JobRunner`). */
export interface ContextRunner {
  /** Slot states in shared memory. */
  readonly states: Int32Array;
  /** Jobs abandoned by the main thread that may still be running here. */
  abandoned: number;
  finish(slot: number, started: number, now: number): boolean;
  valueEnded(slot: number, started: number, jobStarted: number): void;
  notRunning(now: number): void;
}

/** The context of a job running in a slot of a pool or event-loop thread: `aborted` reads the slot's state. */
export abstract class SlotContext extends ContextBase {
  private endedAborted: boolean | undefined;
  /** Set when the main thread abandoned this job: it no longer owns its slot. */
  private left = false;

  protected abstract get runner(): ContextRunner;
  protected abstract get slot(): number;

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
    if (this.left) {
      this.runner.abandoned--;
      return false;
    }
    return this.ended();
  }

  /** The job ended: frees its slot. False if the main thread has just abandoned it. */
  protected abstract ended(): boolean;

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

/** The context of a job of one value. */
export class JobContext extends SlotContext {
  constructor(
    protected readonly runner: ContextRunner,
    protected readonly slot: number,
    private readonly started: number,
  ) {
    super();
  }

  protected ended(): boolean {
    return this.runner.finish(this.slot, this.started, performance.now());
  }
}

/** What a value's context needs of its job of several values (`ValuesRun`). */
export interface ValuesJob {
  readonly runner: ContextRunner;
  readonly slot: number;
  readonly jobStarted: number;
  /** When the value's group started (performance.now()): values are timed in groups. */
  readonly groupStarted: number;
}

/**
 * The context of one value of a job of several values, as small as a context can be (one per
 * value): what it shares with the other values it reads from their job.
 */
export class ValueContext extends SlotContext {
  constructor(
    private readonly job: ValuesJob,
    /** The job's last value, which ends the job. */
    private readonly last: boolean,
  ) {
    super();
  }

  protected get runner(): ContextRunner {
    return this.job.runner;
  }

  protected get slot(): number {
    return this.job.slot;
  }

  protected ended(): boolean {
    const job = this.job;
    job.runner.valueEnded(job.slot, job.groupStarted, this.last ? job.jobStarted : -1);
    return true;
  }
}
