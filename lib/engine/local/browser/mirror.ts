/**
 * The fallback for a page that is not cross-origin isolated, where no memory can be shared with a
 * thread: each side holds its own copy of a thread's words (slot states, slot fields, times,
 * histograms; a stage's counters), and messages keep them in step. A `MainMirror` sits in the
 * main thread's `PlatformThread`, a `ThreadMirror` in the worker (`thread-host.ts`).
 *
 * What goes where, and the one rule that makes it sound:
 * - **A job sent is a job started.** The main thread cannot see a thread swap a slot from
 *   `Pending` to `Started`, so it never gives a thread a job ahead of time (a pool's threads hold
 *   one job each: `slotsPerThread`), and an event-loop thread starts every job as it arrives. Once
 *   a `run` message is posted, the main thread's copy of each of its slots says `Started`. A cancel
 *   is then always the cancel of a running job: a `cancel` message, which fires `ctx.signal` and
 *   sets `ctx.aborted` when the thread receives it; a job that does not stop within
 *   `cancelGraceMs` has its thread replaced (a pool) or is abandoned (an event-loop thread), as on
 *   Node.
 * - Main → thread: with each `run` message, the fields `SlotTable.prepare` wrote for its slots;
 *   a streaming job's credit as it is granted (`Atomics.add`, sent as a difference); a stage's
 *   `Aborted` flag.
 * - Thread → main: with each `results` message, the start and credit-wait times of its slots, the
 *   thread's busy time and what its histograms recorded; a streaming job's wait for credit as it
 *   begins (its timeout does not count the wait); a stage's counters as they change.
 *
 * Messages of the engine pass through unchanged, or wrapped as `[syncTag, words, message]`; a
 * message of words alone is `[syncTag, words]`. `words` are triples `[field, index, value]`.
 */
import { epochNow } from '../../../util/clock';
import { Kind } from '../../../wire/thread';
import { Slot, SlotInt, SlotTime, slotInts, slotTimes, threadTimesAt } from '../../../wire/words';
import { Field, Outgoing, resultSlots, runSlots, syncTag, Words } from './mirror-words';
import { hookBuffer, realAtomics, wake } from './shared-memory';

/** The main thread's side of a thread whose memory is not shared. */
export class MainMirror {
  private readonly words: Words;
  private readonly out: Outgoing;
  /** Per slot: the credit the thread has been told of. */
  private readonly credit: Int32Array;
  private ready = false;
  /** Slots marked started before the thread's loop ran: their start is its `Ready`. */
  private early: number[] = [];

  constructor(
    data: unknown,
    private readonly post: (message: unknown, transfer?: readonly unknown[]) => void,
  ) {
    this.words = new Words(data);
    this.out = new Outgoing((message) => post(message));
    this.credit = new Int32Array(this.words.slotCount);
    const { ints, counters } = this.words;
    if (ints !== undefined) hookBuffer(ints.buffer, { changed: (index) => this.intChanged(index) });
    if (counters !== undefined) {
      hookBuffer(counters.buffer, {
        changed: (index) => this.out.push(Field.Counter, index, realAtomics.load(counters, index)),
      });
    }
  }

  /** Posts a message of the engine, with the words it needs; a `run` message's slots turn `Started`. */
  postMessage(message: unknown, transfer?: readonly unknown[]): void {
    const words = this.out.take();
    const slots = runSlots(message);
    this.runWords(slots, words);
    try {
      this.post(words.length > 0 ? [syncTag, words, message] : message, transfer);
    } catch (error) {
      // Nothing was sent: the words go with the next message.
      for (let i = 0; i < words.length; i += 3) {
        if (words[i] !== Field.State) this.out.push(words[i]!, words[i + 1]!, words[i + 2]!);
      }
      throw error;
    }
    this.started(slots);
  }

  /** A message from the thread: its words applied; returns the engine's message, if there is one. */
  received(data: unknown): unknown {
    let message = data;
    if (Array.isArray(data) && data[0] === syncTag) {
      this.words.apply(data[1] as number[]);
      message = data[2];
    }
    if (Array.isArray(message) && message[0] === Kind.Ready && !this.ready) {
      this.ready = true;
      const { states, times } = this.words;
      const now = epochNow();
      for (const slot of this.early) {
        const state = realAtomics.load(states!, slot);
        if (state === Slot.Started || state === Slot.Aborted) times![slot * slotTimes + SlotTime.StartedAt] = now;
      }
      this.early = [];
    }
    return message;
  }

  private runWords(slots: readonly number[], words: number[]): void {
    const { states, ints, times } = this.words;
    if (states === undefined || ints === undefined || times === undefined) return;
    for (const slot of slots) {
      const at = slot * slotInts;
      const timesAt = slot * slotTimes;
      words.push(Field.State, slot, realAtomics.load(states, slot));
      words.push(Field.Int, at + SlotInt.Watched, ints[at + SlotInt.Watched]!);
      words.push(Field.Int, at + SlotInt.Streams, ints[at + SlotInt.Streams]!);
      const credit = realAtomics.load(ints, at + SlotInt.Credit);
      this.credit[slot] = credit;
      words.push(Field.Int, at + SlotInt.Credit, credit);
      words.push(Field.Time, timesAt + SlotTime.SubmittedAt, times[timesAt + SlotTime.SubmittedAt]!);
      words.push(Field.Time, timesAt + SlotTime.PausedMs, times[timesAt + SlotTime.PausedMs]!);
      words.push(Field.Time, timesAt + SlotTime.PausedSince, times[timesAt + SlotTime.PausedSince]!);
    }
  }

  /** The jobs of a posted `run` message will start as it arrives: their slots say so here. */
  private started(slots: readonly number[]): void {
    const { states, times } = this.words;
    if (states === undefined || times === undefined || slots.length === 0) return;
    const now = epochNow();
    for (const slot of slots) {
      if (realAtomics.compareExchange(states, slot, Slot.Pending, Slot.Started) !== Slot.Pending) continue;
      times[slot * slotTimes + SlotTime.StartedAt] = now;
      if (!this.ready) this.early.push(slot);
      wake(states, slot); // a timeout waits for the start
    }
  }

  /** An int word changed here: a streaming job's credit goes to the thread as a difference. */
  private intChanged(index: number): void {
    const slot = Math.floor(index / slotInts);
    if (slot >= this.words.slotCount || index % slotInts !== SlotInt.Credit) return;
    const now = realAtomics.load(this.words.ints!, index);
    const difference = now - this.credit[slot]!;
    if (difference === 0) return;
    this.credit[slot] = now;
    this.out.push(Field.IntAdd, index, difference);
  }
}

/** The worker's side of its words, when its memory is not shared with the main thread. */
export class ThreadMirror {
  private readonly words: Words;
  private readonly out: Outgoing;
  /** What the main thread was last told of each histogram. */
  private readonly told: { runTime?: Float64Array; waitTime?: Float64Array } = {};

  constructor(
    data: unknown,
    private readonly post: (message: unknown, transfer?: readonly unknown[]) => void,
  ) {
    this.words = new Words(data);
    this.out = new Outgoing((message) => post(message));
    const { ints, counters, runTime, waitTime } = this.words;
    if (runTime !== undefined) this.told.runTime = new Float64Array(runTime.length);
    if (waitTime !== undefined) this.told.waitTime = new Float64Array(waitTime.length);
    if (ints !== undefined) {
      // A streaming job is about to wait for credit: the main thread hears of it now, so that its
      // timeout does not count the wait (the thread wrote PausedSince just before).
      hookBuffer(ints.buffer, {
        waiting: (index) => {
          const slot = Math.floor(index / slotInts);
          if (slot >= this.words.slotCount || index % slotInts !== SlotInt.Credit) return;
          const words = this.out.take();
          this.slotTimes(slot, words);
          this.post([syncTag, words]);
        },
      });
    }
    if (counters !== undefined) {
      hookBuffer(counters.buffer, {
        changed: (index) => this.out.push(Field.Counter, index, realAtomics.load(counters, index)),
      });
    }
  }

  /**
   * A message from the main thread: its words applied, and what the shared words would have said
   * (a cancel turns a running slot `Aborted`). Returns the engine's message, or undefined if there
   * is none for the thread (words alone, or an abandon that came after the job finished).
   */
  received(data: unknown): unknown {
    let message = data;
    if (Array.isArray(data) && data[0] === syncTag) {
      this.words.apply(data[1] as number[]);
      message = data[2];
    }
    const states = this.words.states;
    if (!Array.isArray(message) || states === undefined) return message;
    if (message[0] === Kind.Cancel) {
      realAtomics.compareExchange(states, message[1] as number, Slot.Started, Slot.Aborted);
    } else if (message[0] === Kind.Abandon) {
      // The job finished meanwhile, and its outcome is on its way: that outcome frees the slot.
      const slot = message[1] as number;
      if (realAtomics.compareExchange(states, slot, Slot.Aborted, Slot.Abandoned) !== Slot.Aborted) return undefined;
    }
    return message;
  }

  /** Posts a message of the thread, with the words the main thread reads. */
  postMessage(message: unknown, transfer?: readonly unknown[]): void {
    const words = this.out.take();
    const slots = resultSlots(message);
    if (slots.length > 0 && this.words.times !== undefined) {
      for (const slot of slots) this.slotTimes(slot, words);
      const times = this.words.times;
      for (let at = threadTimesAt(times); at < times.length; at++) words.push(Field.Time, at, times[at]!);
      this.histogram(this.words.runTime, this.told.runTime, Field.RunTime, words);
      this.histogram(this.words.waitTime, this.told.waitTime, Field.WaitTime, words);
    }
    this.post(words.length > 0 ? [syncTag, words, message] : message, transfer);
  }

  /** Sends the words not sent yet now (the thread is exiting). */
  flush(): void {
    this.out.flush();
  }

  private slotTimes(slot: number, words: number[]): void {
    const times = this.words.times!;
    const at = slot * slotTimes;
    words.push(Field.Time, at + SlotTime.StartedAt, times[at + SlotTime.StartedAt]!);
    words.push(Field.Time, at + SlotTime.PausedMs, times[at + SlotTime.PausedMs]!);
    words.push(Field.Time, at + SlotTime.PausedSince, times[at + SlotTime.PausedSince]!);
  }

  /**
   * What a histogram recorded since the main thread was last told: the buckets that grew (a record
   * adds one to one bucket, so the search stops once they account for the new count), then its
   * count, sum and max, its last three fields.
   */
  private histogram(
    now: Float64Array | undefined,
    told: Float64Array | undefined,
    field: number,
    words: number[],
  ): void {
    if (now === undefined || told === undefined) return;
    const count = now.length - 3;
    let left = now[count]! - told[count]!;
    if (left === 0) return;
    for (let i = 0; i < count && left > 0; i++) {
      if (now[i] !== told[i]) {
        left -= now[i]! - told[i]!;
        words.push(field, i, now[i]!);
        told[i] = now[i]!;
      }
    }
    for (let i = count; i < now.length; i++) {
      words.push(field, i, now[i]!);
      told[i] = now[i]!;
    }
  }
}
