import { type ClockReading, epochNow } from '../util/clock';
import { addInto, histogramBuffer, record, summarize, type TimeSummary, toMicros } from '../util/histogram';

export type { TimeSummary };

/** Submissions that may share one clock reading within a synchronous run of them. */
const clockReuse = 64;

/**
 * Statistics of a pool at one moment.
 *
 * @example
 * ```ts
 * const { busy, queued } = pool.stats();
 * ```
 */
export interface ThreadPoolStats {
  /** Threads alive. */
  threads: number;
  /** Threads running a task. */
  busy: number;
  /** Tasks waiting for a thread. */
  queued: number;
  /** Tasks that returned a value. */
  completed: number;
  /** Tasks that threw, could not be cloned, or died with their thread. */
  failed: number;
  /** Tasks cancelled before they settled. */
  cancelled: number;
  /**
   * Share of the threads' time spent running tasks since the pool was created, from 0 to 1:
   * thread-time running tasks / (threads × wall time). For an `EventLoopThread`, a thread counts as
   * busy while at least one task is in progress on its loop.
   */
  utilization: number;
  /** How long tasks ran on their thread, in ms, over every task that ran. */
  runTime: TimeSummary;
  /** How long tasks waited between submission and their start on a thread, in ms. */
  waitTime: TimeSummary;
}

/** One thread's histograms (see histogram.ts), which it records into and the main thread reads. */
export interface ThreadHistograms {
  readonly runTime: Float64Array;
  readonly waitTime: Float64Array;
}

function newHistograms(): ThreadHistograms {
  return { runTime: new Float64Array(histogramBuffer()), waitTime: new Float64Array(histogramBuffer()) };
}

/**
 * What a pool or loop thread reports about its tasks: run and wait times, and busy time. Each
 * thread records its tasks' times itself, into histograms in shared memory, so recording costs the
 * main thread nothing per task; `stats()` adds them up.
 */
export class Metrics {
  private readonly created = performance.now();
  /** Shared with every thread: 1 while threads record. 0 only in the benchmark of what recording costs. */
  readonly recording = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  /** Histograms of threads that have exited, added up. */
  private readonly retired = newHistograms();
  /** Busy ms of threads that have exited. */
  private retiredBusyMs = 0;
  private clock: ClockReading = { at: 0 };
  private clockUses = 0;
  private clockReset = false;

  constructor() {
    this.recording[0] = 1;
  }

  get enabled(): boolean {
    return Atomics.load(this.recording, 0) !== 0;
  }

  set enabled(on: boolean) {
    Atomics.store(this.recording, 0, on ? 1 : 0);
  }

  /** Histograms for a new thread. */
  newThread(): ThreadHistograms {
    return newHistograms();
  }

  /**
   * A task that was running on a thread that is lost (a crash, a grace period run out): it settles
   * all the same, and its thread will not record it, so its run and wait times are recorded here.
   * These are the slow tasks that a p99 and a max are for.
   */
  recordLost(histograms: ThreadHistograms, runMs: number, waitMs: number): void {
    if (!this.enabled) return;
    record(histograms.runTime, toMicros(runMs));
    record(histograms.waitTime, toMicros(waitMs));
  }

  /** A thread has exited: its figures are kept, its histograms let go. */
  retire(histograms: ThreadHistograms, busyMs: number): void {
    addInto(this.retired.runTime, histograms.runTime);
    addInto(this.retired.waitTime, histograms.waitTime);
    this.retiredBusyMs += busyMs;
  }

  /**
   * When a task is submitted (epoch ms), for its wait time, as a shared reading. Reading the clock
   * costs as much as a tiny task's whole bookkeeping, so a synchronous run of submissions shares
   * one reading per `clockReuse` of them (they are microseconds apart); the next turn of the event
   * loop always reads it afresh. A job keeps the reading object, not the number: a number field
   * would be a heap allocation per job.
   */
  submitTime(): ClockReading {
    if (this.clockUses-- > 0) return this.clock;
    return this.readClock();
  }

  /**
   * A fresh reading for `submitTime`, in a method of its own because it makes a closure (the
   * microtask): V8 allocates a closure's scope on every call of the function that makes it, even
   * when the closure is not made (unless it inlines that call and optimizes the scope away), and
   * `submitTime` runs once per value. With this code in `submitTime`, a stream's values cost about
   * 40 bytes each (V8's sampling heap profiler), and a 200,000-value stream ran twice as many young
   * collections with a 1 MB young generation (16.5 against 8.4).
   */
  private readClock(): ClockReading {
    this.clock = { at: epochNow() };
    this.clockUses = clockReuse - 1;
    if (!this.clockReset) {
      this.clockReset = true;
      queueMicrotask(() => {
        this.clockUses = 0;
        this.clockReset = false;
      });
    }
    return this.clock;
  }

  /** Busy thread-time of every thread there has been / (threads × wall time since creation), from 0 to 1. */
  utilization(threads: number, livingBusyMs: number): number {
    const wall = performance.now() - this.created;
    if (wall <= 0 || threads <= 0) return 0;
    return Math.min(1, Math.max(0, (this.retiredBusyMs + livingBusyMs) / (threads * wall)));
  }

  /** Run and wait times over every task that ran, on the living threads and those that exited. */
  summaries(living: Iterable<ThreadHistograms>): { runTime: TimeSummary; waitTime: TimeSummary } {
    const total = newHistograms();
    addInto(total.runTime, this.retired.runTime);
    addInto(total.waitTime, this.retired.waitTime);
    for (const histograms of living) {
      addInto(total.runTime, histograms.runTime);
      addInto(total.waitTime, histograms.waitTime);
    }
    return { runTime: summarize(total.runTime), waitTime: summarize(total.waitTime) };
  }
}
