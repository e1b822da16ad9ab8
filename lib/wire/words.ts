/**
 * The words in shared memory that a pool or event-loop thread and the main thread both read and
 * write, and where each one is: a slot's state (both sides change it by compare-and-swap, so that
 * starting a job and cancelling it can never both win), a slot's Int32 and Float64 fields, the
 * thread's own, and those all the pool threads of the process share. The messages that go with
 * them are in `thread.ts`.
 */

/** Slot states in the thread's shared Int32Array. */
export const Slot = {
  /** Assigned to the thread, not started yet. */
  Pending: 0,
  /** The thread has started it. */
  Started: 1,
  /** Cancelled before it started: the thread must skip it. */
  Cancelled: 2,
  /** Cancelled while running: `ctx.aborted` reads this. */
  Aborted: 3,
  /** Taken back by the main thread (the thread is being replaced): the thread must skip it. */
  Revoked: 4,
  /** Ran to the end; its outcome is sent or about to be. */
  Finished: 5,
  /**
   * Cancelled, still running past `cancelGraceMs` on an event-loop thread, and left to itself: the
   * thread will send no outcome for it, only acknowledge the `Abandon` message (which frees the slot).
   */
  Abandoned: 6,
} as const;

/**
 * Per-slot Int32 fields in shared memory besides the state, at `ints[slot * slotInts + field]`.
 * Written by the main thread when it assigns a job (before the `run` message goes out).
 */
export const SlotInt = {
  /** 1 when the main thread waits (Atomics.waitAsync) for the job to start: the thread notifies. */
  Watched: 0,
  /** 1 when the caller takes a stream of values (an operator), 0 for one value (`run`, `submit`). */
  Streams: 1,
  /**
   * A streaming job's credit: values its generator may still yield before it waits. The main thread
   * adds to it (and notifies) as it emits values, so an unread stream holds at most a window of
   * values in the caller; it also notifies on cancel, to wake a generator waiting for credit.
   */
  Credit: 2,
  /**
   * 0 for a job of one value (its input is the value); n ≥ 1 for a job of n values of one stream
   * (its input is an array of them, a Float64Array when all are numbers), written by the main thread.
   * The thread runs them in order and sends one outcome per value, in order, under the job's slot.
   */
  Values: 3,
  /** A job of several values: the index of the value the thread started last (written before it starts it). */
  Progress: 4,
} as const;
export const slotInts = 5;

/** Thread-wide Int32 fields, after the slots' in the same array (from `slotCount * slotInts`). */
export const ThreadInt = {
  /**
   * 1 while the main thread decides whether the job running on a pool thread must end the thread:
   * meanwhile the thread starts no job (it waits for a notify on this word).
   */
  Halt: 0,
  /** The lone hand-off's state ({@link Handoff}): the main thread waits awake for a lone value's outcome. */
  Handoff: 1,
  /** The outcome code of a lone outcome handed off (`Handoff.Given`), written by the thread. */
  HandoffCode: 2,
  /**
   * Counted up by a pool thread as it spins for work (`IdleSpin`): a count that moves while the main
   * thread posts tells it that the thread runs on another core right now.
   */
  Spins: 3,
} as const;
export const threadInts = 4;
/** Where a thread's own words ({@link ThreadInt}) start among its Int32 words: after every slot's. */
export const threadIntsAt = (ints: { readonly length: number }): number => ints.length - threadInts;

/**
 * States of a thread's lone hand-off (`ThreadInt.Handoff`). The main thread sets `Awaited` before
 * it posts a lone value to a pool thread, and waits awake a moment if the thread runs; the thread
 * then either writes the outcome in shared memory and sets `Given` (no message), or sets `Posted`
 * before it sends any message. Each side moves the state by compare-and-swap from `Awaited`, and
 * the main thread away from it when it stops waiting: an outcome goes one way, never both.
 */
export const Handoff = {
  Off: 0,
  Awaited: 1,
  Given: 2,
  Posted: 3,
  /**
   * The main thread did not wait: the thread did not run during the post. A thread that was
   * spinning all the same was waiting for the main thread's own core, and sleeps after this value
   * rather than spin on that core again.
   */
  Unwaited: 4,
} as const;

/**
 * Int32 words shared by all the pool threads of the process and the main thread, at `pool[field]`
 * (`ThreadInit.pool`): one pool's spinning thread must leave a core to another pool's threads too.
 */
export const PoolInt = {
  /**
   * Messages the main thread has posted to pool threads, counted once each is in its thread's
   * port: a thread spinning for work watches it.
   */
  Posted: 0,
  /**
   * 1 while the main thread is inside a post to a pool thread, 0 otherwise: a thread that spun
   * while it is 1 might hold the core the main thread needs to return from its post (`IdleSpin`).
   */
  Posting: 1,
  /**
   * The first of `awakeWords` words of one bit per pool thread (`ThreadInit.awakeBit`), set while
   * the thread is awake: running jobs, or spinning a moment for more (`IdleSpin`). A bit rather
   * than a count, so that a thread marks itself in one atomic step and dying at any point (a
   * terminate lands anywhere) leaves nothing half counted; the main thread clears the bit of a
   * thread that has exited.
   */
  Awake: 2,
} as const;
/** Words of awake bits: the pool threads of a process beyond 32 × this many never spin. */
export const awakeWords = 4;
export const poolInts = 2 + awakeWords;

/**
 * Whether `buffer` is shared memory, where the words are real (a page that is not cross-origin
 * isolated has copies kept in step by messages). By its tag, not `instanceof`: a browser bundle's
 * `SharedArrayBuffer` is `ArrayBuffer` where memory cannot be shared.
 */
export function isSharedMemory(buffer: ArrayBufferLike): boolean {
  return Object.prototype.toString.call(buffer) === '[object SharedArrayBuffer]';
}

/** How many pool threads of the process are awake: the bits set in the awake words of `pool`. */
export function awakeCount(pool: Int32Array): number {
  let count = 0;
  for (let word = 0; word < awakeWords; word++) {
    let bits = Atomics.load(pool, PoolInt.Awake + word);
    bits -= (bits >>> 1) & 0x55555555;
    bits = (bits & 0x33333333) + ((bits >>> 2) & 0x33333333);
    count += Math.imul((bits + (bits >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return count;
}

/**
 * Per-slot Float64 fields in shared memory, at `times[slot * slotTimes + field]`: the job's start,
 * written by the thread (ms since the epoch, `performance.timeOrigin + performance.now()`, before
 * the slot turns `Started`), and its submission, written by the main thread.
 */
export const SlotTime = {
  StartedAt: 0,
  /** Written by the main thread when it assigns the job: when the job was submitted, for its wait time. */
  SubmittedAt: 1,
  /**
   * Ms a streaming job has spent waiting for credit (its values held back for ordering, or unread),
   * which does not count towards its `timeout`; set to 0 by the main thread when it assigns the job.
   */
  PausedMs: 2,
  /** While it waits for credit: since when (epoch ms); 0 otherwise. */
  PausedSince: 3,
  /** Ms the job ran (all its values for a job of several), written by the thread before its last outcome goes. */
  RanMs: 4,
} as const;
export const slotTimes = 5;

/**
 * The thread's busy time, after the slot times in the same Float64Array (from `times.length -
 * threadTimes`), written by the thread: a pool thread runs one task at a time, an event-loop
 * thread many, and either way it is busy while at least one runs.
 */
export const ThreadTime = {
  /** Ms spent with at least one task running, up to the last time the thread went idle. */
  BusyTotal: 0,
  /** When the thread last went from idle to running (epoch ms), or -1 while idle. */
  BusySince: 1,
  /** The number a lone outcome handed off holds (`Handoff.Given`). */
  HandoffValue: 2,
  /** The `busyMs` of the results message a hand-off stands for. */
  HandoffBusyMs: 3,
} as const;
export const threadTimes = 4;
/** Where a thread's own Float64 words ({@link ThreadTime}) start: after every slot's. */
export const threadTimesAt = (times: { readonly length: number }): number => times.length - threadTimes;

/** Where a thread's lone hand-off words are among its words: both sides of the hand-off read them here. */
export interface HandoffAt {
  /** `ThreadInt.Handoff`, `ThreadInt.HandoffCode` and `ThreadInt.Spins` in the Int32 words. */
  readonly state: number;
  readonly code: number;
  readonly spins: number;
  /** `ThreadTime.HandoffValue` and `ThreadTime.HandoffBusyMs` in the Float64 words. */
  readonly value: number;
  readonly busyMs: number;
}

export function handoffAt(ints: { readonly length: number }, times: { readonly length: number }): HandoffAt {
  const intsAt = threadIntsAt(ints);
  const timesAt = threadTimesAt(times);
  return {
    state: intsAt + ThreadInt.Handoff,
    code: intsAt + ThreadInt.HandoffCode,
    spins: intsAt + ThreadInt.Spins,
    value: timesAt + ThreadTime.HandoffValue,
    busyMs: timesAt + ThreadTime.HandoffBusyMs,
  };
}
