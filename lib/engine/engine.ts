import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';
import { checkRunsFromCode } from '../task/named';
import { Coalesced } from '../util/coalesced';
import { AbortError, type SerializationError, TimeoutError } from '../util/errors';
import { type FromThread, Kind } from '../wire/thread';
import { awakeBits } from './awake-bits';
import { Group, type Job, type JobSpec, type JobThread, newJob, weightOf } from './job';
import { JobStates } from './job-states';
import { Losses } from './losses';
import { Metrics, type ThreadPoolStats } from './metrics';
import type { EngineOptions } from './options';
import { readResults } from './outcomes';
import type { Engine } from './port';
import { Scheduler } from './scheduler';
import { idleThreads, poolStats, waitingIn } from './stats';
import type { ThreadEvents } from './thread-handle';
import { ThreadSet } from './thread-set';

/**
 * The engine behind `ThreadPool` and `EventLoopThread`: queues jobs by group, hands them to threads
 * in batches, cancels them, replaces dead threads, and drains or stops on close. Which job goes to
 * which thread is the `Scheduler`'s; starting, replacing and closing threads is the `ThreadSet`'s.
 * This class settles each job from its outcome, cancels, and ties the two together.
 */
export class ThreadEngine implements Engine, ThreadEvents<Job> {
  /** The live threads: the thread set's own array, which it only ever changes in place. */
  readonly threads: JobThread[];
  readonly metrics = new Metrics();
  /** The words every pool thread of the process shares (`PoolInt`), and each one's bit in them. */
  readonly awakeBits = awakeBits;
  /** Every job's fate is decided there. */
  private readonly jobs = new JobStates();
  /** Per task (its key): the ms one of its values ran, as the last stream of it measured (see `Group.measure`). */
  private readonly valueMs = new Map<number, number>();
  /** Places a stream's values and tiny `run()` calls at the end of their turn: a burst can share jobs. */
  private readonly dispatchSoon = new Coalesced(() => this.dispatch(), queueMicrotask);
  private readonly threadSet: ThreadSet;
  private readonly scheduler: Scheduler;
  private readonly losses: Losses;

  constructor(readonly options: EngineOptions) {
    this.threadSet = new ThreadSet(
      options,
      this,
      () => this.scheduler.dispatch(),
      () => this.scheduler.stopStealing(),
      (crash) => this.losses.cannotSpawn(crash),
    );
    this.scheduler = new Scheduler(options, this.threadSet, this.jobs, this.expire);
    this.threads = this.threadSet.threads;
    this.losses = new Losses({
      options,
      jobs: this.jobs,
      threadSet: this.threadSet,
      scheduler: this.scheduler,
      metrics: this.metrics,
      moveOn: () => {
        this.dispatch();
        this.checkDrained();
      },
    });
  }

  get isOpen(): boolean {
    return this.threadSet.state === 'open';
  }

  /** Resolves once closed or terminated and every thread has exited. */
  get done(): Promise<void> {
    return this.threadSet.done.promise;
  }

  /**
   * Calls `callback` when done, never synchronously from here. Each runs in a microtask of its own,
   * so one that throws is an uncaught exception (as from a timer) and does not stop the others.
   */
  onDone(callback: () => void): void {
    this.threadSet.done.onDone(callback);
  }

  /**
   * `ready` is called when the first thread has started its loop; `closedFirst` instead, when
   * `close()` or `terminate()` comes before the first thread runs.
   */
  whenReady(ready: () => void, closedFirst: () => void): void {
    this.threadSet.onReady = ready;
    this.threadSet.onClosedBeforeReady = closedFirst;
  }

  /** Local threads run tasks from code: a named task is a `TypeError`. */
  checkTask(def: TaskDefinition): void {
    checkRunsFromCode(def);
  }

  /**
   * Threads running no job (or not started yet): as many waiting jobs will start at once, so they
   * do not count as waiting for a thread (`maxQueue`).
   */
  idleThreads(): number {
    return idleThreads(this.options.size, this.threads);
  }

  /**
   * Values may go several to a job on a pool thread (one job at a time), not on an event-loop thread
   * (they would no longer interleave) nor with one slot per thread (a page without shared memory).
   */
  private get valuesShareJobs(): boolean {
    return this.options.mode === 'sequential' && this.options.slotCount > 1;
  }

  openGroup(maxThreads: number, maxInFlight: number): Group {
    const group = new Group(maxThreads, maxInFlight, maxThreads < this.options.size);
    if (this.valuesShareJobs) group.bundlesCallsBy(this.valueMs);
    return group;
  }

  /** A group for a stream: its values are fed with `feed`, and its jobs share `spec`. */
  openStream(maxThreads: number, maxInFlight: number, spec: JobSpec): Group {
    const group = new Group(maxThreads, maxInFlight, maxThreads < this.options.size);
    group.spec = spec;
    // Not with a timeout: each value has its own.
    if (this.valuesShareJobs && spec.timeout === 0) group.measuresValues(spec.def.key, this.valueMs);
    return group;
  }

  /** Queues a job; `spec.settle` is called exactly once, never synchronously from here for a closed engine. */
  submit(group: Group, spec: JobSpec, input: unknown, transfer: readonly Transferable[] | undefined): Job {
    const list = transfer !== undefined && transfer.length > 0 ? transfer : undefined;
    const job = newJob(spec, group, input, list, this.metrics.submitTime(), -1);
    if (this.refuse(job)) return job;
    const first = this.enqueue(group);
    group.push(job);
    if (first) group.bundles(job) ? this.dispatchSoon.request() : this.dispatch();
    return job;
  }

  /**
   * Queues a stream's value (its group opened with `openStream`) as a bare input: it becomes a job
   * only when a thread takes it. `tag` comes back as the job's `tag` when it settles.
   */
  feed(group: Group, input: unknown, transfer: readonly Transferable[] | undefined, tag: number): void {
    const list = transfer !== undefined && transfer.length > 0 ? transfer : undefined;
    const at = this.metrics.submitTime();
    if (this.threadSet.state !== 'open' || list !== undefined) {
      const job = newJob(group.spec!, group, input, list, at, tag);
      if (this.refuse(job)) return;
    }
    const first = this.enqueue(group);
    group.feed(input, list, at, tag);
    if (first) this.dispatchSoon.request();
  }

  /** Settles a job that cannot be queued (closed, or a buffer already moved), in a microtask. */
  private refuse(job: Job): boolean {
    return this.jobs.refuse(job, this.threadSet.state, this.options.owner);
  }

  /**
   * Counts a job about to join `group`'s queue. Returns true if nothing of the group waits before
   * it, so that a dispatch may place it. A job behind a waiting one of its own group needs none:
   * the last dispatch left that one waiting (no thread with room, the top-up threshold, the
   * group's concurrency), and the new one can only follow it. Only a result, a thread's start or
   * exit, or a timer frees room, and each of those dispatches: for a source of a million values,
   * a million scans saved.
   */
  private enqueue(group: Group): boolean {
    const first = group.waiting === 0;
    this.threadSet.retryIfGivenUp();
    this.scheduler.enqueue(group);
    return first;
  }

  /** Cancels one job: a queued one never starts; a running one sees its signal fire. */
  cancel(job: Job, reason?: Error): void {
    const error = reason ?? new AbortError();
    const was = this.jobs.cancel(job, error);
    if (was === 'queued') {
      // It stays in its group's queue, skipped when reached.
      this.scheduler.queued -= weightOf(job);
      job.group.waiting -= weightOf(job);
    } else if (was === 'running') {
      this.losses.armGrace(job.thread!, job, error);
    }
  }

  /** Cancels every job of a group, queued or on a thread. */
  cancelGroup(group: Group, reason?: Error): void {
    // One error for the whole group: a stack trace per job costs microseconds, times millions.
    reason ??= new AbortError();
    group.cancelledBy = reason;
    const { jobs, dropped } = group.drain();
    this.jobs.cancelled += dropped;
    this.scheduler.queued -= dropped;
    for (const job of jobs) if (!job.settled) this.cancel(job, reason);
    this.scheduler.forgetGroup(group);
    if (group.inFlight === 0) return;
    const held: Job[] = [];
    for (const thread of this.threads) {
      for (const job of thread.jobs) if (job !== undefined && job.group === group && !job.settled) held.push(job);
    }
    // Jobs not started yet are cancelled before running ones are aborted: an aborted job that
    // returns at once must not let its thread start the next one of this group in between.
    held.sort((a, b) => Number(a.thread!.slots.isRunning(a.slot)) - Number(b.thread!.slots.isRunning(b.slot)));
    for (const job of held) this.cancel(job, reason);
  }

  /** The caller emitted `values` of a streaming job's values: it may yield that many more. */
  grant(job: Job, values: number): void {
    const thread = job.thread;
    if (thread !== undefined && !job.settled && thread.jobs[job.slot] === job) thread.slots.grant(job.slot, values);
  }

  close(graceMs?: number): Promise<void> {
    const threadSet = this.threadSet;
    if (graceMs !== undefined) threadSet.closeGraceMs = Math.min(threadSet.closeGraceMs, graceMs);
    threadSet.closedBeforeReady();
    if (threadSet.state === 'open') threadSet.state = 'closing';
    this.checkDrained();
    return this.done;
  }

  terminate(): Promise<void> {
    const threadSet = this.threadSet;
    threadSet.closedBeforeReady();
    if (threadSet.state === 'ended') return this.done;
    if (threadSet.state === 'open' || threadSet.state === 'closing') threadSet.state = 'terminating';
    const terminated = new AbortError('The threads were terminated');
    this.scheduler.drainAll((jobs, dropped) => {
      this.jobs.cancelled += dropped;
      for (const job of jobs) this.jobs.abort(job, terminated);
    });
    // Every thread still alive ends now: those closing (in their onThreadClose callbacks, or
    // draining their loop) and those being replaced (whose results may still arrive) included.
    for (const thread of threadSet.living) {
      this.jobs.terminated(thread, terminated);
      thread.stop();
    }
    this.threads.length = 0;
    threadSet.checkEnded();
    return this.done;
  }

  stats(): ThreadPoolStats {
    const { options, threads, threadSet, scheduler, jobs, metrics } = this;
    return poolStats(options.size, threads, threadSet.living, scheduler.queued, jobs, metrics);
  }

  /** Jobs of one group that wait for a thread, including those handed to a thread ahead of time. */
  waitingIn(group: Group): number {
    return waitingIn(group, this.threads);
  }

  /** Starts the threads now rather than on first use, holding the process until they run (an event-loop thread does). */
  start(): void {
    this.threadSet.spawnMissing(true);
  }

  // ---- ThreadEvents<Job> ----

  message(thread: JobThread, message: FromThread): void {
    if (message[0] === Kind.Ready) {
      this.threadSet.ready();
      return;
    }
    const ran = readResults(this.jobs, thread, message);
    this.scheduler.measured(ran, message[1]);
    this.dispatch();
    this.checkDrained();
  }

  unsendable(thread: JobThread, failures: [Job, SerializationError][]): void {
    this.jobs.unsendable(thread, failures);
    this.dispatch();
    this.checkDrained();
  }

  exit(thread: JobThread, exitCode: number, error: Error | undefined): void {
    this.losses.exited(thread, exitCode, error);
  }

  // ---- internals ----

  /** A job ran past its timeout: it is cancelled as on unsubscribe, and fails with TimeoutError. */
  private readonly expire = (job: Job): void => {
    this.cancel(job, new TimeoutError(job.timeout));
  };

  /** Places queued jobs on threads now; `send`: they go at once, not at the end of the turn (`submitGroup`). */
  dispatch(send = false): void {
    this.scheduler.dispatch();
    if (send) for (const thread of this.threads) thread.sendAssigned();
  }

  private checkDrained(): void {
    this.threadSet.checkDrained(this.scheduler.queued);
  }
}
