import { Slot } from '../wire/thread';
import type { JobRunner } from './job-runner';
import type { Loaded } from './loader';
import type { Outbox } from './outbox';
import type { TinyWork } from './tiny-work';

/** What a pool thread's loop lends to a job of several values. */
export interface ValuesLoop {
  readonly runner: JobRunner;
  readonly outbox: Outbox;
  /**
   * Sends finished outcomes now if the next value must not hold them back (see `SequentialMode`);
   * `now` is performance.now(). Returns true if it sent them.
   */
  flushBefore(tiny: TinyWork, slot: number, now: number): boolean;
  /** A promise while the main thread holds the thread halted; `undefined` otherwise. */
  halted(): Promise<void> | undefined;
}

/**
 * Runs a job of several values of one stream on a pool thread, one value after another as if each
 * were a job of its own: each sends its own outcome, and between two values the loop checks what
 * it checks between two jobs (a cancel, finished outcomes to send, a halt). A cancel stops it
 * before the next value (`Skipped` answers for the rest). A value whose task streams (returns a
 * generator) streams under the job's slot as a job of one would.
 */
export class ValuesRun {
  private next = 0;
  /** Set after a halt: the next value's start is read from the clock, not the last value's end. */
  private resumed = false;

  constructor(
    private readonly loop: ValuesLoop,
    private readonly loaded: Loaded,
    private readonly tiny: TinyWork,
    private readonly slot: number,
    private readonly key: number,
    private readonly inputs: ArrayLike<unknown>,
    private readonly jobStarted: number,
  ) {}

  /** Runs the values from the next on; returns a promise only if one did not finish synchronously. */
  run(): Promise<void> | undefined {
    const { loop, slot, inputs, tiny } = this;
    const { runner, outbox } = loop;
    const count = inputs.length;
    for (;;) {
      const index = this.next;
      // A value starts when the one before it ended (one clock reading per value, not three),
      // unless outcomes went out in between.
      let started = index === 0 ? this.jobStarted : this.resumed ? performance.now() : runner.lastEnd;
      this.resumed = false;
      if (index > 0) {
        if (Atomics.load(runner.states, slot) !== Slot.Started) {
          // Cancelled: the values after this one never start.
          runner.endValues(slot, this.jobStarted);
          outbox.skipped(slot);
          return undefined;
        }
        if (loop.flushBefore(tiny, slot, started)) started = performance.now();
        const halted = loop.halted();
        if (halted !== undefined) {
          return halted.then(() => {
            this.resumed = true;
            return this.run();
          });
        }
      }
      this.next++;
      const last = this.next === count;
      const ran = runner.runValue(this.loaded, slot, this.key, inputs[index], index, last, this.jobStarted, started);
      if (ran !== undefined) {
        // Outcomes so far go out while this value waits (I/O, or a stream), as between jobs.
        outbox.flushSoon();
        return ran.then(() => {
          tiny.record(runner.lastJobMs);
          return last ? undefined : this.run();
        });
      }
      tiny.record(runner.lastJobMs);
      if (last) return undefined;
    }
  }
}
