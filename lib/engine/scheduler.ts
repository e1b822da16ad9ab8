import { unrefTimer } from '../util/timers';
import { type Group, type Job, type JobThread, weightOf } from './job';
import type { JobStates } from './job-states';
import type { EngineOptions } from './options';
import type { ThreadSet } from './thread-set';
import { watchTimeout } from './timeouts';

/** How much work (in ms) each sequential thread is given ahead, to hide message latency. */
const aheadMs = 1;
/** Values a sequential thread is given ahead at least, and at most unless `maxStreamDepth` applies (its slots bound the jobs). */
const minDepth = 2;
const maxDepth = 2048;
/**
 * At most, while every queued job is a stream's values going several to a job: enough for the
 * millisecond ahead (`aheadMs`) of values of a tenth of a µs, so that a thread does not run dry and
 * sleep while the main thread reads its last results. Not for `run()` calls: with more room, more
 * of them went out one job each before any queued to share a job (docs/design.md#how-jobs-reach-a-thread, Prefetch).
 */
const maxStreamDepth = 16384;

/**
 * Which job goes to which thread: queues jobs by group, served round-robin, hands them to threads
 * in batches sized by the measured job time, and takes back those a stalled thread holds.
 */
export class Scheduler {
  /** Groups with queued jobs, served round-robin. */
  private readonly active: Group[] = [];
  private turn = 0;
  queued = 0;
  /** Moving average of one job's duration on a thread, in ms; -1 until measured. */
  private jobMs = -1;
  private stealTimer: NodeJS.Timeout | undefined;
  /** The thread set's own array, which it only ever changes in place. */
  private readonly threads: JobThread[];

  constructor(
    private readonly options: EngineOptions,
    private readonly set: ThreadSet,
    private readonly jobs: JobStates,
    /** Called when a job handed to a thread runs past its timeout. */
    private readonly expire: (job: Job) => void,
  ) {
    this.threads = set.threads;
  }

  enqueue(group: Group): void {
    if (group.queued === 0) this.active.push(group);
    this.queued++;
  }

  requeue(job: Job): void {
    if (job.settled) return;
    job.thread = undefined;
    job.slot = -1;
    if (job.group.queued === 0) this.active.push(job.group);
    job.group.unshift(job);
    this.queued += weightOf(job);
  }

  forgetGroup(group: Group): void {
    const index = this.active.indexOf(group);
    if (index >= 0) this.active.splice(index, 1);
  }

  /**
   * Empties every group's queue: `each` is given its jobs (a stream's bare inputs through its first
   * one) and how many bare inputs were dropped.
   */
  drainAll(each: (jobs: Job[], dropped: number) => void, every = false): void {
    for (const group of this.active.splice(0)) {
      const { jobs, dropped } = group.drain(every);
      each(jobs, dropped);
    }
    this.queued = 0;
  }

  /** A thread ran `ran` jobs in `busyMs`. */
  measured(ran: number, busyMs: number): void {
    if (ran > 0 && this.options.mode === 'sequential') {
      const perJob = busyMs / ran;
      this.jobMs = this.jobMs < 0 ? perJob : this.jobMs * 0.7 + perJob * 0.3;
    }
  }

  stopStealing(): void {
    clearTimeout(this.stealTimer);
  }

  private depth(): number {
    if (this.options.mode === 'concurrent') return this.options.slotCount;
    if (this.jobMs < 0) return minDepth;
    const most = this.active.every((group) => group.valuesPerJob) ? maxStreamDepth : maxDepth;
    return Math.min(most, Math.max(minDepth, Math.ceil(aheadMs / Math.max(this.jobMs, 1e-6))));
  }

  /**
   * Work stealing: a thread stuck in a long job may hold jobs it was handed ahead of time. While
   * another thread is idle, those wait for nothing: once the stuck thread has been silent for
   * `stealAfter` ms, its unstarted jobs go back to the front of their queues for the idle ones.
   */
  private stealFromStalled(): void {
    if (this.options.mode !== 'sequential' || this.threads.length < 2) return;
    if (!this.threads.some((thread) => thread.inFlight === 0 && thread.started)) return;
    const now = performance.now();
    const stealAfter = Math.max(2, 20 * Math.max(this.jobMs, 0));
    let soonest = Number.POSITIVE_INFINITY;
    for (const thread of this.threads) {
      if (thread.inFlight < 2) continue; // one job at most: nothing waits behind it
      const silent = now - thread.lastHeard;
      if (silent < stealAfter) {
        soonest = Math.min(soonest, stealAfter - silent);
        continue;
      }
      const stolen = thread.unstarted().filter((job) => this.jobs.revoke(job));
      for (let i = stolen.length - 1; i >= 0; i--) this.requeue(stolen[i]!);
    }
    if (soonest !== Number.POSITIVE_INFINITY && this.stealTimer === undefined) {
      this.stealTimer = setTimeout(() => {
        this.stealTimer = undefined;
        this.stealFromStalled();
        this.dispatch();
      }, Math.ceil(soonest));
      unrefTimer(this.stealTimer); // the threads holding jobs hold the process
    }
  }

  dispatch(): void {
    this.stealFromStalled();
    if (this.active.length === 0 || (this.set.state !== 'open' && this.set.state !== 'closing')) return;
    this.set.spawnMissing();
    const room = this.depth();
    // Water-filling: each job goes to the least loaded thread with room, so idle threads are
    // used first and work handed out ahead of time is spread evenly.
    // A busy thread is topped up only with a worthwhile batch: refilling exactly the slots each
    // small result message frees would lock both sides into one-job messages. The threshold is
    // checked once per thread and call: a thread that passed it is filled to `room`, or it would
    // stop a job short of the threshold and then take one job per result from there on.
    const filling: JobThread[] = [];
    while (this.active.length > 0) {
      let target: JobThread | undefined;
      for (const thread of this.threads) {
        if (thread.hasRoom(room) && (target === undefined || thread.load < target.load)) target = thread;
      }
      if (target === undefined) return;
      if (target.load > 0 && !filling.includes(target)) {
        if (room - target.load < Math.min(this.queued, room / 4)) return;
        filling.push(target);
      }
      let job = this.nextFor(target);
      if (job === undefined) {
        // A concurrency limit keeps every group off that thread: try the others, least loaded first.
        const others = this.threads.filter((t) => t !== target && t.hasRoom(room)).sort((a, b) => a.load - b.load);
        for (const thread of others) {
          job = this.nextFor(thread);
          if (job !== undefined) {
            target = thread;
            break;
          }
        }
        if (job === undefined) return;
      }
      this.jobs.send(job, target);
      if (job.timeout > 0) watchTimeout(job, this.expire);
    }
  }

  /** The next job a thread may take, round-robin over the groups that allow it. */
  private nextFor(thread: JobThread): Job | undefined {
    for (let tries = this.active.length; tries > 0; tries--) {
      if (this.turn >= this.active.length) this.turn = 0;
      const group = this.active[this.turn]!;
      if (!group.canTake(thread)) {
        this.turn++;
        continue;
      }
      const job = group.peek(); // drops the jobs cancelled while queued
      if (
        job !== undefined &&
        job.transfer !== undefined &&
        thread.inFlight > 0 &&
        this.options.mode === 'sequential'
      ) {
        // A job that moves buffers is never handed out ahead of time: on a thread that dies
        // before starting it, its input would be lost with the thread. It waits for an idle one.
        this.turn++;
        continue;
      }
      const weight = job === undefined ? 0 : weightOf(job);
      if (job !== undefined) {
        group.shift();
        group.waiting -= weight;
      }
      if (group.queued === 0) this.active.splice(this.turn, 1);
      else this.turn++;
      if (job !== undefined) {
        this.queued -= weight;
        return job;
      }
      tries++; // the group held only cancelled jobs and is gone: look again
      if (this.active.length === 0) return undefined;
    }
    return undefined;
  }
}
