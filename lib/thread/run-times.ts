import { record, toMicros } from '../util/histogram';
import type { ThreadInit } from '../wire/thread';
import { SlotTime, slotTimes, ThreadTime, threadTimesAt } from '../wire/words';

/**
 * A pool or event-loop thread's times in shared memory, which the main thread reads: each job's
 * start and run time, the thread's busy time, and, while metrics are recorded, the histograms of
 * run and wait times. Also the last run timed, which sizes the groups of tiny values.
 */
export class RunTimes {
  /** Per-slot times ({@link SlotTime}), then the thread's ({@link ThreadTime}). */
  readonly times: Float64Array;
  private readonly busyAt: number;
  private readonly recording: Int32Array;
  private readonly runHistogram: Float64Array;
  private readonly waitHistogram: Float64Array;
  /** Fixed for the thread's life; read once (the getter is not free at millions of jobs). */
  private readonly timeOrigin = performance.timeOrigin;
  /** Tasks running now: the thread is busy while there is at least one. */
  private running = 0;
  /** How long the last job (or value, or group of values, of a job of several) took (ms). */
  lastJobMs = 0;
  /** How many values that was. */
  lastValues = 1;
  /** When it ended (performance.now()). */
  lastEnd = 0;

  constructor(
    init: ThreadInit,
    /** Where the ms the thread ran tasks for go, with its next results. */
    private readonly outbox: { busyMs: number },
  ) {
    this.times = new Float64Array(init.times);
    this.busyAt = threadTimesAt(this.times);
    this.recording = new Int32Array(init.recording);
    this.runHistogram = new Float64Array(init.runTime);
    this.waitHistogram = new Float64Array(init.waitTime);
  }

  /** The job in `slot` starts at `started` (performance.now()): written before its slot turns Started. */
  startsAt(slot: number, started: number): void {
    this.times[slot * slotTimes + SlotTime.StartedAt] = this.timeOrigin + started;
  }

  /** A task started running at `started`: the thread is busy from its first. */
  taskStarted(started: number): void {
    if (this.running++ === 0) this.times[this.busyAt + ThreadTime.BusySince] = this.timeOrigin + started;
  }

  /** A task stopped running (it ended, or was abandoned): the thread goes idle with its last one. */
  taskStopped(now: number): void {
    if (--this.running > 0) return;
    const { times, busyAt } = this;
    const since = times[busyAt + ThreadTime.BusySince]!;
    times[busyAt + ThreadTime.BusyTotal] = times[busyAt + ThreadTime.BusyTotal]! + this.timeOrigin + now - since;
    times[busyAt + ThreadTime.BusySince] = -1;
  }

  /** The job in `slot` ran `ms`: noted before its slot turns Finished, for the main thread. */
  ran(slot: number, ms: number): void {
    this.times[slot * slotTimes + SlotTime.RanMs] = ms;
  }

  /**
   * Records the run of `values` values (a job, or a group of a job of several) from `started` to
   * `now`, and how long they waited: a group as if each value were timed (docs/design.md#metrics).
   */
  record(slot: number, started: number, now: number, values = 1): void {
    const ms = now - started;
    this.lastJobMs = ms;
    this.lastValues = values;
    this.lastEnd = now;
    if (this.recording[0] !== 0) {
      const micros = toMicros(ms);
      if (values === 1 || micros <= 1) {
        record(this.runHistogram, micros, values);
      } else {
        // Longer together: one of them was slow (or a collection ran, or the thread was descheduled).
        record(this.runHistogram, 1, values - 1);
        record(this.runHistogram, micros);
      }
      // Read before the outcome goes out: until then the slot (and its submission time) is this job's.
      const submittedAt = this.times[slot * slotTimes + SlotTime.SubmittedAt]!;
      record(this.waitHistogram, toMicros(this.timeOrigin + started - submittedAt), values);
    }
    this.outbox.busyMs += ms;
  }
}
