import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { epochNow } from './timeouts';

/** Submissions that may share one clock reading within a synchronous run of them. */
const clockReuse = 64;

/**
 * A summary of task durations in ms, over every task that ran (bounded memory: a histogram with
 * 3 significant digits, not a list of samples).
 *
 * @example
 * ```ts
 * const { p99, count } = pool.stats().runTime;
 * ```
 */
export interface TimeSummary {
  /** Tasks measured. */
  count: number;
  /** Mean ms (0 when none). */
  mean: number;
  /** Median ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function summarize(histogram: RecordableHistogram): TimeSummary {
  const count = histogram.count;
  if (count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  // Recorded in µs (a histogram holds integers >= 1).
  return {
    count,
    mean: histogram.mean / 1000,
    p50: histogram.percentile(50) / 1000,
    p90: histogram.percentile(90) / 1000,
    p99: histogram.percentile(99) / 1000,
    max: histogram.max / 1000,
  };
}

function toMicros(ms: number): number {
  return ms >= 0.001 ? Math.round(ms * 1000) : 1;
}

/** What a pool or loop thread records about its tasks: run and wait times, and busy time. */
export class Metrics {
  private readonly created = performance.now();
  private readonly run = createHistogram();
  private readonly wait = createHistogram();
  /** Busy ms of threads that have exited. */
  retiredBusyMs = 0;
  /** False only in the benchmark that measures what recording costs. */
  enabled = true;
  private clock = 0;
  private clockUses = 0;
  private clockReset = false;

  /**
   * When a task is submitted (epoch ms), for its wait time. Reading the clock costs as much as a
   * tiny task's whole bookkeeping, so a synchronous run of submissions shares one reading per
   * `clockReuse` of them (they are microseconds apart); the next turn always reads it afresh.
   */
  submitTime(): number {
    if (!this.enabled) return 0;
    if (this.clockUses-- > 0) return this.clock;
    this.clock = epochNow();
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

  /** A task ran for `runMs`, after waiting `waitMs` between its submission and its start. */
  record(runMs: number, waitMs: number): void {
    if (!this.enabled) return;
    this.run.record(toMicros(runMs));
    this.wait.record(toMicros(waitMs));
  }

  /** Busy thread-time / (threads × wall time since creation), from 0 to 1. */
  utilization(threads: number, busyMs: number): number {
    const wall = performance.now() - this.created;
    if (wall <= 0 || threads <= 0) return 0;
    return Math.min(1, Math.max(0, (this.retiredBusyMs + busyMs) / (threads * wall)));
  }

  get runTime(): TimeSummary {
    return summarize(this.run);
  }

  get waitTime(): TimeSummary {
    return summarize(this.wait);
  }
}
