import { Slot } from '../wire/words';
import type { ValuesJob } from './job-context';
import type { JobRunner } from './job-runner';
import type { Loaded } from './loader';
import type { Outbox } from './outbox';
import type { TinyWork } from './tiny-work';

/** What a pool thread's loop lends to a job of several values. */
export interface ValuesLoop {
  readonly runner: JobRunner;
  readonly outbox: Outbox;
  /** Whether finished outcomes must go out before the next value (see `SequentialMode`); `now` is performance.now(). */
  mustFlush(tiny: TinyWork, slot: number, now: number): boolean;
  /** A promise while the main thread holds the thread halted; `undefined` otherwise. */
  halted(): Promise<void> | undefined;
}

/** A group of values ends with a clock reading once it should have run about this long (ms). */
const groupMs = 0.00075;
/** Values between two clock readings, at most. */
const maxGroup = 32;

/**
 * Runs a job of several values of one stream on a pool thread, one value after another as if each
 * were a job of its own: each sends its own outcome, and between two values the loop checks what
 * it checks between two jobs (a cancel, finished outcomes to send, a halt). A cancel stops it
 * before the next value (`Skipped` answers for the rest). A value whose task streams (returns a
 * generator) streams under the job's slot as a job of one would.
 *
 * Values are timed in groups: a clock reading costs more than a tiny value (tens of ns), so once
 * values prove tiny, consecutive ones share one reading, sized to take under a µs together; the
 * runner records them as their histograms would have been recorded one by one (see
 * `JobRunner.record`).
 */
export class ValuesRun implements ValuesJob {
  private next = 0;
  /** Set after a halt: the next group's start is read from the clock, not the last value's end. */
  private resumed = false;
  /** Values to run between two clock readings: 1 until values prove tiny. */
  private groupSize = 1;
  /** Values of the current group that ended untimed, and when the group started (performance.now()). */
  private grouped = 0;
  groupStarted = 0;
  readonly runner: JobRunner;

  constructor(
    private readonly loop: ValuesLoop,
    private readonly loaded: Loaded,
    private readonly tiny: TinyWork,
    readonly slot: number,
    private readonly key: number,
    private readonly inputs: ArrayLike<unknown>,
    readonly jobStarted: number,
  ) {
    this.runner = loop.runner;
  }

  /** Runs the values from the next on; returns a promise only if one did not finish synchronously. */
  run(): Promise<void> | undefined {
    const { loop, slot, inputs, runner } = this;
    const outbox = loop.outbox;
    const count = inputs.length;
    for (;;) {
      const index = this.next;
      if (this.grouped === 0) {
        // A group starts when the one before it ended, unless the thread waited in between.
        this.groupStarted = index === 0 ? this.jobStarted : this.resumed ? performance.now() : runner.clock.lastEnd;
        this.resumed = false;
      }
      if (index > 0) {
        if (Atomics.load(runner.states, slot) !== Slot.Started) {
          // Cancelled: the values after this one never start.
          const grouped = this.grouped;
          this.grouped = 0;
          runner.endValues(slot, this.jobStarted, this.groupStarted);
          if (grouped > 0) this.ended();
          outbox.skipped(slot);
          return undefined;
        }
        if (loop.mustFlush(this.tiny, slot, runner.clock.lastEnd)) {
          // Between two groups, so that sending is timed with neither.
          this.endGroup();
          outbox.flush();
          this.groupStarted = performance.now();
        }
        const halted = loop.halted();
        if (halted !== undefined) {
          this.endGroup();
          return halted.then(() => {
            this.resumed = true;
            return this.run();
          });
        }
      }
      this.next++;
      const last = this.next === count;
      // The job's last value always reads the clock: it ends the job.
      const untimed = !last && this.grouped + 1 < this.groupSize;
      runner.untimed = untimed;
      const ran = runner.runValue(this.loaded, this, last, slot, this.key, inputs[index], index);
      runner.untimed = false;
      if (ran !== undefined) {
        // Outcomes so far go out while this value waits (I/O, or a stream), as between jobs. It
        // ends timed, with the values of its group before it.
        outbox.flushSoon();
        return this.afterAsync(ran, last);
      }
      if (untimed) {
        this.grouped++;
      } else {
        this.grouped = 0;
        this.ended();
      }
      if (last) return undefined;
    }
  }

  /**
   * A value that did not end synchronously has ended: the values after it run. A method apart: a
   * closure in `run`'s loop that holds `last` would have V8 allocate a scope for it every value.
   */
  private afterAsync(ran: Promise<void>, last: boolean): Promise<void> {
    return ran.then(() => {
      this.grouped = 0;
      this.ended();
      return last ? undefined : this.run();
    });
  }

  /** Reads the clock for the values of the group that ended untimed, if any. */
  private endGroup(): void {
    if (this.grouped === 0) return;
    this.grouped = 0;
    this.runner.endGroup(this.slot, this.groupStarted);
    this.ended();
  }

  /** The runner has just timed a value or a group: the task's tininess, and the next group's size. */
  private ended(): void {
    const { lastJobMs, lastValues } = this.runner.clock;
    this.tiny.record(lastJobMs, lastValues);
    const each = lastJobMs / lastValues;
    this.groupSize = each <= 0 ? maxGroup : Math.max(1, Math.min(maxGroup, Math.floor(groupMs / each)));
  }
}
