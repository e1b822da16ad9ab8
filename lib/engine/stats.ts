import { epochNow } from '../util/clock';
import type { Group, JobThread } from './job';
import type { JobStates } from './job-states';
import type { Metrics, ThreadPoolStats } from './metrics';

/**
 * An engine's `stats()`: its threads (`living` includes those being replaced, whose busy time and
 * histograms still count), the jobs queued and held ahead of time, the counts and the summaries.
 */
export function poolStats(
  size: number,
  threads: readonly JobThread[],
  living: Iterable<JobThread>,
  queued: number,
  jobs: JobStates,
  metrics: Metrics,
): ThreadPoolStats {
  let busy = 0;
  let waiting = 0;
  for (const thread of threads) {
    if (thread.running) busy++;
    waiting += thread.waitingOf();
  }
  const now = epochNow();
  let busyMs = 0;
  const histograms = [];
  for (const thread of living) {
    busyMs += thread.slots.busyMs(now);
    histograms.push(thread.histograms);
  }
  return {
    threads: threads.length,
    busy,
    queued: queued + waiting,
    completed: jobs.completed,
    failed: jobs.failed,
    cancelled: jobs.cancelled,
    utilization: metrics.utilization(size, busyMs),
    ...metrics.summaries(histograms),
  };
}

/** Jobs of `group` that wait for a thread, including those handed to a thread ahead of time. */
export function waitingIn(group: Group, threads: readonly JobThread[]): number {
  let waiting = group.waiting;
  for (const thread of threads) waiting += thread.waitingOf(group);
  return waiting;
}

/** Of `size` threads, those running no job (or not started yet). */
export function idleThreads(size: number, threads: readonly JobThread[]): number {
  let idle = size - threads.length;
  for (const thread of threads) if (!thread.running) idle++;
  return idle;
}
