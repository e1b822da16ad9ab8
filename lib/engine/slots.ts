import { maxSlots } from '../wire/thread';
import {
  Slot,
  SlotInt,
  SlotTime,
  slotInts,
  slotTimes,
  ThreadInt,
  ThreadTime,
  threadInts,
  threadIntsAt,
  threadTimes,
  threadTimesAt,
} from '../wire/words';

/**
 * A thread's slots in shared memory, as the main thread sees them: each slot's state word (which
 * the thread and the main thread change by compare-and-swap, so that starting a job and cancelling
 * it can never both win), its Int32 fields and its times, and the thread-wide words after them.
 */
export class SlotTable {
  readonly states: Int32Array;
  /** Per-slot Int32 fields ({@link SlotInt}), then the thread's ({@link ThreadInt}). */
  readonly ints: Int32Array;
  /** Per-slot times ({@link SlotTime}), then the thread's ({@link ThreadTime}). */
  readonly times: Float64Array;
  private readonly haltAt: number;

  constructor(readonly count: number) {
    if (count > maxSlots) throw new Error(`rxthreads: ${count} slots per thread, more than ${maxSlots}`);
    this.states = new Int32Array(new SharedArrayBuffer(count * Int32Array.BYTES_PER_ELEMENT));
    this.ints = new Int32Array(new SharedArrayBuffer((count * slotInts + threadInts) * Int32Array.BYTES_PER_ELEMENT));
    this.times = new Float64Array(
      new SharedArrayBuffer((count * slotTimes + threadTimes) * Float64Array.BYTES_PER_ELEMENT),
    );
    this.times[threadTimesAt(this.times) + ThreadTime.BusySince] = -1;
    this.haltAt = threadIntsAt(this.ints) + ThreadInt.Halt;
  }

  /**
   * Prepares a free slot for a job, before the message that carries it publishes these fields:
   * whether its start is watched (a timeout), whether it streams (and its credit), when it was submitted,
   * and how many values it carries (0: one, its input).
   */
  prepare(slot: number, watched: boolean, credit: number | undefined, submittedAt: number, values: number): void {
    Atomics.store(this.states, slot, Slot.Pending);
    const at = slot * slotInts;
    const ints = this.ints;
    const watch = watched ? 1 : 0;
    if (ints[at + SlotInt.Watched] !== watch) ints[at + SlotInt.Watched] = watch;
    const streams = credit === undefined ? 0 : 1;
    if (ints[at + SlotInt.Streams] !== streams) ints[at + SlotInt.Streams] = streams;
    const window = credit ?? 0;
    if (ints[at + SlotInt.Credit] !== window) ints[at + SlotInt.Credit] = window;
    if (ints[at + SlotInt.Values] !== values) ints[at + SlotInt.Values] = values;
    // A job of several values that is lost before its thread says which one it started reads 0.
    if (values > 0) ints[at + SlotInt.Progress] = 0;
    const times = this.times;
    const timesAt = slot * slotTimes;
    times[timesAt + SlotTime.SubmittedAt] = submittedAt;
    if (streams !== 0) {
      times[timesAt + SlotTime.PausedMs] = 0;
      times[timesAt + SlotTime.PausedSince] = 0;
    }
  }

  state(slot: number): number {
    return Atomics.load(this.states, slot);
  }

  /** Swaps `from` to `to` if the slot holds `from`; returns what it held. */
  swap(slot: number, from: number, to: number): number {
    return Atomics.compareExchange(this.states, slot, from, to);
  }

  isRunning(slot: number): boolean {
    const state = Atomics.load(this.states, slot);
    return state === Slot.Started || state === Slot.Aborted;
  }

  /**
   * A streaming job may be waiting for credit, or about to: a notify alone could come just before
   * it waits, and be missed. The word it waits on changes, so that its wait ends at once (or never
   * begins) and it sees its cancel.
   */
  wakeForCancel(slot: number): void {
    this.grant(slot, 1);
  }

  /** Gives a streaming job credit for `values` more values, waking it if it waits. */
  grant(slot: number, values: number): void {
    const at = slot * slotInts + SlotInt.Credit;
    Atomics.add(this.ints, at, values);
    Atomics.notify(this.ints, at);
  }

  /** A job of several values: the index of the value its thread started last. */
  progress(slot: number): number {
    return Atomics.load(this.ints, slot * slotInts + SlotInt.Progress);
  }

  /** Ms the job in `slot` ran, once its thread has sent its last outcome. */
  ranMs(slot: number): number {
    return this.times[slot * slotTimes + SlotTime.RanMs]!;
  }

  /** When the job in `slot` started, in ms since the epoch (valid once the slot is `Started`). */
  startedAt(slot: number): number {
    return this.times[slot * slotTimes + SlotTime.StartedAt]!;
  }

  /** When the job in `slot` was submitted, in ms since the epoch. */
  submittedAt(slot: number): number {
    return this.times[slot * slotTimes + SlotTime.SubmittedAt]!;
  }

  /** Ms the job in `slot` has run by `now` (epoch ms), less the time a streaming job waited for credit. */
  ranFor(slot: number, now: number): number {
    const at = slot * slotTimes;
    const times = this.times;
    const pausedSince = times[at + SlotTime.PausedSince]!;
    const paused = times[at + SlotTime.PausedMs]! + (pausedSince > 0 ? now - pausedSince : 0);
    return now - times[at + SlotTime.StartedAt]! - paused;
  }

  /** Ms the thread has spent running tasks (at least one at a time), until `now`. */
  busyMs(now: number): number {
    const at = threadTimesAt(this.times);
    const since = this.times[at + ThreadTime.BusySince]!;
    return this.times[at + ThreadTime.BusyTotal]! + (since >= 0 ? Math.max(0, now - since) : 0);
  }

  /**
   * While set, the thread starts no new job (it waits, notified when cleared): the main thread
   * holds it while it decides whether the job running there must end the thread, so that no
   * other job can start between that check and the end.
   */
  halt(): void {
    Atomics.store(this.ints, this.haltAt, 1);
  }

  resume(): void {
    Atomics.store(this.ints, this.haltAt, 0);
    Atomics.notify(this.ints, this.haltAt);
  }
}
