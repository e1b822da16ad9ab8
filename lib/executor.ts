import type { ResourceLimits } from 'node:worker_threads';
import type { Transferable } from './context';
import {
  AbortError,
  ClosedError,
  rebuildError,
  SerializationError,
  TimeoutError,
  taskErrorFrom,
  WorkerCrashedError,
} from './errors';
import type { Executor as ExecutorApi } from './executor-api';
import { Group, type Job, newJob, type Settle, type StreamSpec, streamEnded } from './job';
import { Metrics } from './metrics';
import type { ThreadPoolStats } from './pool';
import {
  type FromThread,
  Header,
  Kind,
  Outcome,
  type RunMode,
  Stride,
  type TaskDefinition,
  type WireError,
} from './protocol';
import { type ThreadEvents, ThreadHandle } from './thread-handle';
import { epochNow, watchTimeout } from './timeouts';
import { checkNotDetached } from './transfer';
import type { WorkerSpawnOptions } from './worker-options';

export interface ExecutorOptions {
  readonly size: number;
  readonly mode: RunMode;
  /** How long a cancelled running job may take to stop before its thread is replaced (a pool) or it is abandoned (a loop). */
  readonly cancelGraceMs: number;
  /** How long a closing thread may take to exit by itself before it is terminated. */
  readonly closeGraceMs: number;
  readonly resourceLimits: ResourceLimits | undefined;
  /** `env`, `execArgv` and `argv` for each Worker. */
  readonly worker?: WorkerSpawnOptions;
  readonly name: string | undefined;
  /** Slots per thread: the most jobs one thread can hold at once. */
  readonly slotCount: number;
  /**
   * A pool replaces a crashed thread, and one whose cancelled job runs past the grace period; an
   * event-loop thread ends with a crash, and abandons a cancelled job instead (its other tasks live on).
   */
  readonly replaceCrashed: boolean;
}

const settled: Settle = () => {};

type State = 'open' | 'closing' | 'terminating' | 'ended';

/**
 * Back-off before each new attempt to start a thread after threads died before their loop ran
 * (a bad `resourceLimits`, a preload that throws). Past the last, waiting jobs fail.
 */
const startRetryMs = [20, 100, 500];

/** How much work (in ms) each sequential thread is given ahead, to hide message latency. */
const aheadMs = 1;
const minDepth = 2;
const maxDepth = 512;

/**
 * The engine behind `ThreadPool` and `EventLoopThread`: queues jobs by group, hands them to threads
 * in batches, cancels them, replaces dead threads, and drains or stops on close.
 */
export class Executor implements ExecutorApi, ThreadEvents {
  readonly threads: ThreadHandle[] = [];
  /** Every thread not yet exited, including those being stopped. */
  private readonly living = new Set<ThreadHandle>();
  /** Groups with queued jobs, served round-robin. */
  private readonly active: Group[] = [];
  private turn = 0;
  private state: State = 'open';
  queued = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;
  /** Moving average of one job's duration on a thread, in ms; -1 until measured. */
  private jobMs = -1;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  readonly metrics = new Metrics();
  /** Called when the first thread has started its loop. */
  onReady: (() => void) | undefined;
  /** Called instead of `onReady` when `close()` or `terminate()` comes before the first thread runs. */
  onClosedBeforeReady: (() => void) | undefined;
  /** Threads in a row that died before their loop ran; reset when one runs. */
  private startFailures = 0;
  /** No thread is started before this time (ms, Date.now()), after start-up failures. */
  private spawnAfter = 0;
  private spawnTimer: NodeJS.Timeout | undefined;
  private stealTimer: NodeJS.Timeout | undefined;
  private readonly doneCallbacks: (() => void)[] = [];

  constructor(readonly options: ExecutorOptions) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /**
   * Calls `callback` when done, never synchronously from here. Each runs in a microtask of its own,
   * so one that throws is an uncaught exception (as from a timer) and does not stop the others.
   */
  onDone(callback: () => void): void {
    if (this.state === 'ended') queueMicrotask(callback);
    else this.doneCallbacks.push(callback);
  }

  /** True if a job submitted now would find a thread with nothing to do. */
  hasIdleThread(): boolean {
    return this.threads.length < this.options.size || this.threads.some((thread) => thread.inFlight === 0);
  }

  openGroup(maxThreads: number, maxInFlight: number): Group {
    return new Group(maxThreads, maxInFlight, maxThreads < this.options.size);
  }

  /** A group for a stream: its values are fed with `feed`, and its jobs share `spec`. */
  openStream(maxThreads: number, maxInFlight: number, spec: StreamSpec): Group {
    const group = this.openGroup(maxThreads, maxInFlight);
    group.spec = spec;
    return group;
  }

  /** Queues a job; `settle` is called exactly once, never synchronously from here for a closed executor. */
  submit(
    group: Group,
    def: TaskDefinition,
    input: unknown,
    transfer: readonly Transferable[] | undefined,
    settle: Settle,
    timeout = 0,
    yielded?: (job: Job, values: unknown[]) => void,
    tag = -1,
  ): Job {
    const list = transfer !== undefined && transfer.length > 0 ? transfer : undefined;
    const job = newJob(group, def, input, list, settle, timeout, this.metrics.submitTime(), yielded, tag);
    if (this.refuse(job)) return job;
    this.enqueue(group);
    group.push(job);
    this.dispatch();
    return job;
  }

  /**
   * Queues a stream's value (its group opened with `openStream`) as a bare input: it becomes a job
   * only when a thread takes it. `tag` comes back as the job's `tag` when it settles.
   */
  feed(group: Group, input: unknown, transfer: readonly Transferable[] | undefined, tag: number): void {
    const list = transfer !== undefined && transfer.length > 0 ? transfer : undefined;
    const at = this.metrics.submitTime();
    if (this.state !== 'open' || list !== undefined) {
      const spec = group.spec!;
      const job = newJob(group, spec.def, input, list, spec.settle, spec.timeout, at, spec.yielded, tag);
      if (this.refuse(job)) return;
    }
    this.enqueue(group);
    group.feed(input, list, at, tag);
    this.dispatch();
  }

  /** Settles a job that cannot be queued (closed, or a buffer already moved), in a microtask. */
  private refuse(job: Job): boolean {
    const refused =
      this.state !== 'open'
        ? new ClosedError(this.state === 'ended' ? 'The threads have ended' : 'The threads are closing')
        : checkNotDetached(job.transfer);
    if (refused === undefined) return false;
    job.settled = true;
    if (!(refused instanceof ClosedError)) this.failed++;
    const settle = job.settle;
    job.settle = settled;
    queueMicrotask(() => settle(refused, undefined, job));
    return true;
  }

  private enqueue(group: Group): void {
    if (this.startFailures > startRetryMs.length) {
      // Threads could not start even after the retries: try once more for this new work.
      this.startFailures = startRetryMs.length;
      this.spawnAfter = 0;
    }
    if (group.queued === 0) this.active.push(group);
    this.queued++;
  }

  /** Cancels one job: a queued one never starts; a running one sees its signal fire. */
  cancel(job: Job, reason?: Error): void {
    if (job.settled) return;
    this.settle(job, reason ?? new AbortError());
    if (reason instanceof TimeoutError) this.failed++;
    else this.cancelled++;
    const thread = job.thread;
    if (thread === undefined) {
      // It stays in its group's queue, skipped when reached.
      this.queued--;
      job.group.waiting--;
    } else if (!thread.cancel(job.slot, reason instanceof TimeoutError ? reason.timeout : undefined)) {
      this.armGrace(thread, job); // it is running
      return;
    }
    // It will never start: its input is let go of now, not when its queue or thread reaches it.
    job.input = undefined;
    job.transfer = undefined;
  }

  /** Cancels every job of a group, queued or on a thread. */
  cancelGroup(group: Group, reason?: Error): void {
    // One error for the whole group: a stack trace per job costs microseconds, times millions.
    reason ??= new AbortError();
    const { jobs, dropped } = group.drain();
    this.cancelled += dropped;
    this.queued -= dropped;
    for (const job of jobs) {
      if (!job.settled) this.cancel(job, reason);
    }
    this.forgetGroup(group);
    if (group.inFlight === 0) return;
    const held: Job[] = [];
    for (const thread of this.threads) {
      for (const job of thread.jobs) if (job !== undefined && job.group === group && !job.settled) held.push(job);
    }
    // Jobs not started yet are cancelled before running ones are aborted: an aborted job that
    // returns at once must not let its thread start the next one of this group in between.
    held.sort((a, b) => Number(a.thread!.isRunning(a.slot)) - Number(b.thread!.isRunning(b.slot)));
    for (const job of held) this.cancel(job, reason);
  }

  /** The caller emitted `values` of a streaming job's values: it may yield that many more. */
  grant(job: Job, values: number): void {
    const thread = job.thread;
    if (thread !== undefined && !job.settled && thread.jobs[job.slot] === job) thread.grant(job.slot, values);
  }

  close(): Promise<void> {
    this.closedBeforeReady();
    if (this.state === 'open') this.state = 'closing';
    this.checkDrained();
    return this.done;
  }

  terminate(): Promise<void> {
    this.closedBeforeReady();
    if (this.state === 'open' || this.state === 'closing') {
      this.state = 'terminating';
      const terminated = new AbortError('The threads were terminated');
      for (const group of this.active.splice(0)) {
        const { jobs, dropped } = group.drain();
        this.cancelled += dropped;
        for (const job of jobs) if (!job.settled) this.abandon(job, terminated);
      }
      this.queued = 0;
      for (const thread of this.threads) {
        const { notStarted, started } = thread.takeBack();
        for (const job of [...notStarted, ...started]) this.abandon(job, terminated);
        thread.stop();
      }
      this.threads.length = 0;
    }
    this.checkEnded();
    return this.done;
  }

  stats(): ThreadPoolStats {
    let busy = 0;
    let waiting = 0;
    for (const thread of this.threads) {
      if (thread.running) busy++;
      waiting += thread.waitingOf();
    }
    const now = epochNow();
    let busyMs = 0;
    for (const thread of this.living) busyMs += thread.busyMs(now);
    return {
      threads: this.threads.length,
      busy,
      queued: this.queued + waiting,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
      utilization: this.metrics.utilization(this.options.size, busyMs),
      ...this.metrics.summaries(Array.from(this.living, (thread) => thread.histograms)),
    };
  }

  /** Jobs of one group that wait for a thread, including those handed to a thread ahead of time. */
  waitingIn(group: Group): number {
    let waiting = group.waiting;
    for (const thread of this.threads) waiting += thread.waitingOf(group);
    return waiting;
  }

  /** Starts the threads now rather than on first use, holding the process until they run (an event-loop thread does). */
  start(): void {
    this.spawnMissing(true);
  }

  // ---- ThreadEvents ----

  message(thread: ThreadHandle, message: FromThread): void {
    if (message[0] === Kind.Ready) {
      this.startFailures = 0;
      this.onReady?.();
      this.onReady = undefined;
      return;
    }
    let ran = 0;
    for (let i = Header; i < message.length; i += Stride) {
      if (message[i + 1] === Outcome.Yielded) {
        // The job goes on and keeps its slot.
        const job = thread.jobs[message[i] as number];
        if (job !== undefined && !job.settled) job.yielded?.(job, message[i + 2] as unknown[]);
        continue;
      }
      const job = thread.release(message[i] as number);
      if (job === undefined) continue;
      job.group.released(thread);
      const outcome = message[i + 1] as Outcome;
      const value = message[i + 2];
      if (outcome !== Outcome.Skipped) ran++;
      if (job.settled) continue;
      switch (outcome) {
        case Outcome.Ok:
          this.completed++;
          this.settle(job, undefined, value);
          break;
        case Outcome.Threw:
          this.failed++;
          this.settle(job, taskErrorFrom(value as WireError));
          break;
        case Outcome.Unclonable: {
          this.failed++;
          const cause = rebuildError(value as WireError);
          this.settle(job, new SerializationError(cause.message, { cause }));
          break;
        }
        case Outcome.Ended:
          this.completed++;
          this.settle(job, undefined, streamEnded);
          break;
        case Outcome.StreamRefused:
          this.failed++;
          this.settle(
            job,
            new TypeError(
              'This task is a generator function, which streams values: run it with offloadToThread, offloadFrom ' +
                'or runOnLoop, which emit each value it yields; pool.run and loop.submit resolve with one value',
            ),
          );
          break;
        case Outcome.Skipped:
          // Never reached: a skipped job was cancelled (settled above) or revoked (no longer held).
          break;
      }
    }
    if (ran > 0 && this.options.mode === 'sequential') {
      const perJob = message[1] / ran;
      this.jobMs = this.jobMs < 0 ? perJob : this.jobMs * 0.7 + perJob * 0.3;
    }
    this.dispatch();
    this.checkDrained();
  }

  unsendable(thread: ThreadHandle, failures: [Job, SerializationError][]): void {
    for (const [job, error] of failures) {
      job.group.released(thread);
      if (job.settled) continue;
      this.failed++;
      this.settle(job, error);
    }
    this.dispatch();
    this.checkDrained();
  }

  exit(thread: ThreadHandle, exitCode: number, error: Error | undefined): void {
    if (this.living.delete(thread)) this.metrics.retire(thread.histograms, thread.busyMs(epochNow()));
    // A thread that was stopped is already out of `threads`; `lose` takes a crashed one out.
    if (!thread.stopping) {
      const crash = new WorkerCrashedError(exitCode, { cause: error });
      this.lose(thread, crash);
      if (!thread.started && this.options.replaceCrashed) this.startFailed(crash);
      else this.replaceLost();
    }
    this.dispatch();
    this.checkDrained();
    this.checkEnded();
  }

  // ---- internals ----

  /** A job ran past its timeout: it is cancelled as on unsubscribe, and fails with TimeoutError. */
  private readonly expire = (job: Job): void => {
    this.cancel(job, new TimeoutError(job.timeout));
  };

  private closedBeforeReady(): void {
    if (this.onReady === undefined) return;
    this.onReady = undefined;
    this.onClosedBeforeReady?.();
  }

  private settle(job: Job, error: Error | undefined, value?: unknown): void {
    job.settled = true;
    const settle = job.settle;
    job.settle = settled;
    settle(error, value, job);
  }

  private abandon(job: Job, error: Error): void {
    job.group.released(job.thread!);
    if (job.settled) return;
    this.cancelled++;
    this.settle(job, error);
  }

  /** A thread is gone or going: its unstarted jobs run elsewhere, its started ones fail. */
  private lose(thread: ThreadHandle, error: Error): void {
    const index = this.threads.indexOf(thread);
    if (index >= 0) this.threads.splice(index, 1);
    const { notStarted, started } = thread.takeBack();
    const replace = this.options.replaceCrashed && this.state !== 'terminating';
    for (const job of started) {
      job.group.released(thread);
      if (job.settled) continue;
      this.failed++;
      this.settle(job, error);
    }
    for (const job of notStarted) {
      job.group.released(thread);
      // A job whose buffers were moved to the dead thread has no input left here: it fails rather
      // than run again on detached (empty) buffers.
      if (replace && !job.moved) this.requeue(job);
      else if (!job.settled) {
        this.failed++;
        this.settle(job, error);
      }
    }
    if (!replace && this.state !== 'terminating' && this.state !== 'ended') {
      // An event-loop thread ends with its thread: everything queued fails the same way.
      this.state = 'terminating';
      this.failQueued(error);
      for (const other of this.threads.splice(0)) other.stop();
    }
  }

  private requeue(job: Job): void {
    if (job.settled) return;
    job.thread = undefined;
    job.slot = -1;
    if (job.group.queued === 0) this.active.push(job.group);
    job.group.unshift(job);
    this.queued++;
  }

  /**
   * A cancelled job that is still running after the grace period has its thread replaced (a pool),
   * or is abandoned (an event-loop thread, whose other tasks must live on): its slot is freed and
   * it no longer holds the process nor a `close()`.
   */
  private armGrace(thread: ThreadHandle, job: Job): void {
    const slot = job.slot;
    const timer = setTimeout(() => {
      // Only while this very job still runs there: it may have finished (its result not read yet,
      // if this thread was busy) and the thread gone on to another job, which must not be harmed.
      if (!thread.alive || thread.jobs[slot] !== job || !thread.isRunning(slot)) return;
      if (!this.options.replaceCrashed) {
        thread.abandon(slot);
        return;
      }
      thread.stop();
      this.lose(thread, new AbortError('The task did not stop within cancelGraceMs'));
      this.replaceLost();
      this.dispatch();
      this.checkDrained();
    }, this.options.cancelGraceMs);
    timer.unref();
  }

  private forgetGroup(group: Group): void {
    const index = this.active.indexOf(group);
    if (index >= 0) this.active.splice(index, 1);
  }

  private depth(): number {
    if (this.options.mode === 'concurrent') return this.options.slotCount;
    if (this.jobMs < 0) return minDepth;
    return Math.min(maxDepth, Math.max(minDepth, Math.ceil(aheadMs / Math.max(this.jobMs, 1e-6))));
  }

  /** A pool replaces a thread it lost at once, work or not, so that it is back to its size. */
  private replaceLost(): void {
    if (this.options.replaceCrashed && this.state === 'open' && this.startFailures === 0) this.spawnMissing();
  }

  /** A thread died before its loop ran: retry with back-off, then fail what waits. */
  private startFailed(crash: WorkerCrashedError): void {
    const failures = ++this.startFailures;
    if (failures <= startRetryMs.length) {
      this.spawnAfter = Date.now() + startRetryMs[failures - 1]!;
      return;
    }
    const why = crash.cause instanceof Error ? crash.cause.message : `exit code ${crash.exitCode}`;
    const error = new WorkerCrashedError(crash.exitCode, {
      cause: new Error(`no thread could start (${failures} attempts, the last: ${why})`, { cause: crash.cause }),
    });
    this.failQueued(error);
  }

  /** Fails every queued job with `error` (a stream's bare inputs through its first one). */
  private failQueued(error: Error): void {
    for (const group of this.active.splice(0)) {
      for (const job of group.drain().jobs) {
        if (job.settled) continue;
        this.failed++;
        this.settle(job, error);
      }
    }
    this.queued = 0;
  }

  private spawnMissing(holdUntilReady = false): void {
    if (this.startFailures > startRetryMs.length) return; // given up until new work arrives
    if (this.startFailures > 0) {
      // After a failed start, one thread at a time probes, after the back-off.
      const wait = this.spawnAfter - Date.now();
      if (wait > 0) {
        this.spawnTimer ??= setTimeout(() => {
          this.spawnTimer = undefined;
          this.dispatch();
        }, wait);
        return;
      }
      if (this.threads.length < this.options.size && !this.threads.some((thread) => !thread.started)) {
        this.spawnOne(holdUntilReady);
      }
      return;
    }
    while (this.threads.length < this.options.size) this.spawnOne(holdUntilReady);
  }

  private spawnOne(holdUntilReady: boolean): void {
    const thread = new ThreadHandle(this.options.slotCount, this.options.mode, this.options, this, holdUntilReady);
    this.threads.push(thread);
    this.living.add(thread);
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
      const stolen = thread.stealPending();
      for (let i = stolen.length - 1; i >= 0; i--) {
        const job = stolen[i]!;
        job.group.released(thread);
        this.requeue(job);
      }
    }
    if (soonest !== Number.POSITIVE_INFINITY && this.stealTimer === undefined) {
      this.stealTimer = setTimeout(() => {
        this.stealTimer = undefined;
        this.stealFromStalled();
        this.dispatch();
      }, Math.ceil(soonest));
      this.stealTimer.unref(); // the threads holding jobs hold the process
    }
  }

  private dispatch(): void {
    this.stealFromStalled();
    if (this.active.length === 0 || (this.state !== 'open' && this.state !== 'closing')) return;
    this.spawnMissing();
    const room = Math.min(this.depth(), this.options.slotCount);
    // Water-filling: each job goes to the least loaded thread with room, so idle threads are
    // used first and work handed out ahead of time is spread evenly.
    while (this.active.length > 0) {
      let target: ThreadHandle | undefined;
      for (const thread of this.threads) {
        if (thread.hasRoom(room) && (target === undefined || thread.inFlight < target.inFlight)) target = thread;
      }
      if (target === undefined) return;
      // A busy thread is topped up only with a worthwhile batch: refilling exactly the slots each
      // small result message frees would lock both sides into one-job messages.
      if (target.inFlight > 0 && room - target.inFlight < Math.min(this.queued, room / 4)) return;
      let job = this.nextFor(target);
      if (job === undefined) {
        // A concurrency limit keeps every group off that thread: try the others, least loaded first.
        const others = this.threads
          .filter((t) => t !== target && t.hasRoom(room))
          .sort((a, b) => a.inFlight - b.inFlight);
        for (const thread of others) {
          job = this.nextFor(thread);
          if (job !== undefined) {
            target = thread;
            break;
          }
        }
        if (job === undefined) return;
      }
      job.group.assigned(target);
      target.assign(job);
      if (job.timeout > 0) watchTimeout(job, this.expire);
    }
  }

  /** The next job a thread may take, round-robin over the groups that allow it. */
  private nextFor(thread: ThreadHandle): Job | undefined {
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
      if (job !== undefined) {
        group.shift();
        group.waiting--;
      }
      if (group.queued === 0) this.active.splice(this.turn, 1);
      else this.turn++;
      if (job !== undefined) {
        this.queued--;
        return job;
      }
      tries++; // the group held only cancelled jobs and is gone: look again
      if (this.active.length === 0) return undefined;
    }
    return undefined;
  }

  private checkDrained(): void {
    if (this.state !== 'closing' || this.queued > 0) return;
    for (const thread of this.threads) if (thread.inFlight > 0) return;
    this.state = 'terminating';
    for (const thread of this.threads) thread.close(this.options.closeGraceMs);
    this.threads.length = 0;
    this.checkEnded();
  }

  private checkEnded(): void {
    if (this.state === 'terminating' && this.living.size === 0) {
      this.state = 'ended';
      clearTimeout(this.spawnTimer);
      clearTimeout(this.stealTimer);
      this.resolveDone();
      for (const callback of this.doneCallbacks.splice(0)) queueMicrotask(callback);
    }
  }
}
