import type { ThreadInit } from '../wire/thread';
import { awakeCount, isSharedMemory, PoolInt, ThreadInt, threadIntsAt } from '../wire/words';

/**
 * How long (ms) a pool thread that has run out of jobs keeps checking for the next message before
 * it goes back to its event loop to sleep: longer than a sleeping main thread takes to wake for the
 * outcomes and post the next value (20-80 µs here), short against a tiny stream's gaps.
 */
const defaultSpinMs = 0.1;
/** Spins in a row that saw no message, after which the thread sleeps at once until work comes back quickly. */
const maxMisses = 2;

/**
 * A pool thread's short wait for work after a lone value, spinning rather than sleeping. Waking a
 * sleeping thread costs the thread that posts to it, and the one woken waits for its CPU: on a VM
 * whose idle CPU halts, a lone value's round trip paid two wakes, 60-90 µs where a raw
 * `postMessage` round trip between two busy threads takes a few. A thread that spins a moment
 * after a lone value is awake when the next one comes. The main thread counts every message it
 * posts to pool threads in shared memory (`PoolInt.Posted`), so the spin is a read of a word.
 *
 * Only after a lone value (the thread's last run of jobs held one value): a thread that ran many
 * was fed in bulk by a main thread that is busy making the next bulk, and a spin would take the
 * core that main thread or another pool thread needs (measured: no gain in throughput, more CPU).
 * Nor may a spin take a core from threads that work. A thread spins only while fewer than
 * `spinBelow` (the cores less one) other pool threads of the process are awake, running jobs or
 * spinning (`PoolInt.Awake`, where each thread sets its own bit while it drains its jobs and spins,
 * and the main thread clears the bit of a thread that has exited); a message posted to another
 * thread ends the spin, as that thread may need the core now; and it does not spin while the main
 * thread is in a post (`PoolInt.Posting`), which may be waiting for this thread's core; nor after a
 * job it took spinning whose outcome the main thread did not wait for (`ThreadHandoff.unwaited`):
 * it did not run during the post although awake, so it shares the main thread's core. It is
 * adaptive, as a spinning lock is: after `maxMisses` spins that waited in vain the thread sleeps at
 * once, until a message comes within `spinMs` of its going idle again. Without shared memory (a
 * page that is not cross-origin isolated: the words are copies) it never spins.
 */
export class IdleSpin {
  private readonly pool: Int32Array;
  /** This thread's bit in the awake words: the word's index in `pool`, and the bit's mask. */
  private readonly awakeAt: number;
  private readonly awakeMask: number;
  private readonly spinBelow: number;
  private readonly shared: boolean;
  /** The thread's words, and where in them it counts its spins (`ThreadInt.Spins`) for the lone hand-off. */
  private readonly ints: Int32Array;
  private readonly spinsAt: number;
  private misses = 0;
  /** When the thread went idle without spinning (performance.now()), or -1. */
  private sleptAt = -1;
  /** Whether the jobs being drained were taken while awake (by a spin), not woken from the event loop. */
  private tookAwake = false;

  /** `handoff` tells whether the main thread waited for the last outcome (the lone hand-off). */
  constructor(
    init: Pick<ThreadInit, 'pool' | 'spinBelow' | 'awakeBit' | 'ints'>,
    private readonly spinMs = defaultSpinMs,
    private readonly handoff?: { readonly unwaited: boolean },
  ) {
    this.pool = new Int32Array(init.pool);
    this.ints = new Int32Array(init.ints);
    this.spinsAt = threadIntsAt(this.ints) + ThreadInt.Spins;
    const bit = init.awakeBit;
    this.awakeAt = PoolInt.Awake + (bit >> 5);
    this.awakeMask = 1 << (bit & 31);
    this.spinBelow = init.spinBelow;
    this.shared = this.spinBelow > 0 && bit >= 0 && isSharedMemory(init.pool);
  }

  /** The thread starts draining jobs, woken from its event loop. */
  woke(): void {
    if (!this.shared) return;
    this.tookAwake = false;
    Atomics.or(this.pool, this.awakeAt, this.awakeMask);
    // Had it spun when it went idle, this message would have found it awake: spin again.
    if (this.sleptAt >= 0 && performance.now() - this.sleptAt < this.spinMs) this.misses = 0;
    this.sleptAt = -1;
  }

  /**
   * Called once the thread has no job left and has sent its outcomes: if its last run of jobs
   * held one value (`lone`), for up to `spinMs`, checks for a message with `arrived` (which handles
   * one waiting in the port and tells whether the thread has jobs again) whenever the main thread
   * posts one. Returns whether jobs arrived; if not, the thread goes back to its event loop, no
   * longer awake.
   */
  waitForWork(arrived: () => boolean, lone: boolean): boolean {
    if (!this.shared) return false;
    const { pool, spinBelow } = this;
    // A main thread still in the post that woke this thread has most likely been preempted by it
    // (a woken thread often runs on its waker's core; a post that is not preempted returns within
    // microseconds, before the thread has run its job): a spin would keep the core from it.
    // A thread that took its job spinning, yet ran not once while the main thread posted it (the
    // main thread did not wait for its outcome), shares the main thread's core: a spin there
    // would only hold the core the main thread needs to take the outcome and post the next value.
    const sharesCore = this.tookAwake && this.handoff?.unwaited === true;
    if (lone && !sharesCore && this.misses < maxMisses && Atomics.load(pool, PoolInt.Posting) === 0) {
      // The count is read before the port is checked: a message posted after the check counts
      // after this read (the main thread counts a message once it is in the port).
      const seen = Atomics.load(pool, PoolInt.Posted);
      if (arrived()) {
        this.misses = 0;
        this.tookAwake = true;
        return true;
      }
      const end = performance.now() + this.spinMs;
      const { ints, spinsAt } = this;
      let now = 0;
      while (Atomics.load(pool, PoolInt.Posted) === seen && awakeCount(pool) - 1 < spinBelow) {
        // Counted while spinning: a main thread that sees the count move as it posts knows this thread runs now.
        Atomics.add(ints, spinsAt, 1);
        now = performance.now();
        if (now >= end) break;
      }
      if (now >= end) this.misses++;
      else if (Atomics.load(pool, PoolInt.Posted) !== seen && arrived()) {
        this.misses = 0;
        this.tookAwake = true;
        return true;
      }
      // Otherwise the message was another thread's (or one that brings no job), or other threads
      // woke: they may need the core.
    }
    this.sleptAt = performance.now();
    Atomics.and(pool, this.awakeAt, ~this.awakeMask);
    return false;
  }
}
