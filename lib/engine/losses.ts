import { epochNow } from '../util/clock';
import { WorkerCrashedError } from '../util/errors';
import { unrefTimer } from '../util/timers';
import type { Job, JobThread } from './job';
import { crashedBy, overranGrace } from './job-errors';
import type { JobStates } from './job-states';
import type { Metrics } from './metrics';
import type { EngineOptions } from './options';
import type { Scheduler } from './scheduler';
import type { ThreadSet } from './thread-set';

/** What the engine lends to {@link Losses}. */
export interface LossContext {
  readonly options: EngineOptions;
  readonly jobs: JobStates;
  readonly threadSet: ThreadSet;
  readonly scheduler: Scheduler;
  readonly metrics: Metrics;
  /** Hands out queued jobs, and closes the threads once drained if closing. */
  readonly moveOn: () => void;
}

/**
 * Threads that are lost, and their jobs: a thread that dies (a crash, out of memory), one ended
 * because a cancelled or timed-out job ran past its grace, one that could not start. A pool
 * replaces it; an event-loop thread ends with it.
 */
export class Losses {
  constructor(private readonly engine: LossContext) {}

  /**
   * A cancelled job that is still running after the grace period has its thread replaced (a pool),
   * or is abandoned (an event-loop thread, whose other tasks must live on): its slot is freed and
   * it no longer holds the process nor a `close()`.
   */
  armGrace(thread: JobThread, job: Job, reason: Error): void {
    const { options } = this.engine;
    const slot = job.slot;
    const holds = () => thread.alive && thread.jobs[slot] === job && thread.slots.isRunning(slot);
    const timer = setTimeout(() => {
      // Only while this very job still runs there: it may have finished (its result not read yet,
      // if this thread was busy) and the thread gone on to another job, which must not be harmed.
      if (!holds()) return;
      if (!options.replaceCrashed) {
        thread.abandon(slot);
        return;
      }
      // Halted, the thread starts no other job: if this one still runs now, nothing else can
      // have started, and only it and finished results are on the thread when it ends.
      thread.slots.halt();
      if (!holds()) {
        thread.slots.resume();
        return;
      }
      thread.stop();
      this.lose(thread, overranGrace(job, reason, options.cancelGraceMs));
      this.engine.threadSet.replaceLost();
      this.engine.moveOn();
    }, options.cancelGraceMs);
    unrefTimer(timer);
  }

  /** A thread exited: a crash unless it was asked to stop. */
  exited(thread: JobThread, exitCode: number, error: Error | undefined): void {
    const { threadSet, metrics, options, jobs } = this.engine;
    const living = threadSet.living.delete(thread);
    // A thread that was stopped is already out of `threads`; `lose` takes a crashed one out.
    if (!thread.stopping) {
      const crash = new WorkerCrashedError(exitCode, { cause: error });
      this.lose(thread, crashedBy(thread.runningJob(), crash), crash);
      if (!thread.started && options.replaceCrashed) this.startFailed(crash);
      else threadSet.replaceLost();
    }
    // After `lose`, which times the tasks the thread was running into its histograms.
    if (living) metrics.retire(thread.histograms, thread.slots.busyMs(epochNow()));
    // Every message the thread posted has been read by now (Node reads them before 'exit').
    jobs.exited(thread);
    this.engine.moveOn();
    threadSet.checkEnded();
  }

  /** Node refused to start a thread: what waits fails; an event-loop thread is over. */
  cannotSpawn(crash: WorkerCrashedError): void {
    const { threadSet, options } = this.engine;
    this.failQueued(crash);
    if (!options.replaceCrashed && threadSet.state === 'open') {
      // An event-loop thread that cannot start is over, as one that died starting.
      threadSet.state = 'terminating';
      threadSet.checkEnded();
    }
    this.engine.moveOn();
  }

  /**
   * Fails every queued job with `error`, each of a stream's bare inputs too: a stream that settles
   * its values goes on after the first failure and waits for every outcome (one that errors ignores
   * the rest).
   */
  failQueued(error: Error): void {
    const { jobs } = this.engine;
    this.engine.scheduler.drainAll((queued) => {
      for (const job of queued) jobs.fail(job, error);
    }, true);
  }

  /**
   * A thread is gone or going: its unstarted jobs run elsewhere (a pool), its started ones fail
   * (with `crash` if it died, else saying `why` it was ended), its finished ones wait for its exit.
   */
  private lose(thread: JobThread, why: string, crash?: WorkerCrashedError): void {
    const { threadSet, options, jobs, scheduler, metrics } = this.engine;
    threadSet.remove(thread);
    const { slots } = thread;
    const now = epochNow();
    for (const [slot, job] of thread.jobs.entries()) {
      if (job !== undefined && slots.isRunning(slot)) {
        metrics.recordLost(thread.histograms, slots.ranFor(slot, now), slots.startedAt(slot) - slots.submittedAt(slot));
      }
    }
    const replace = options.replaceCrashed && threadSet.state !== 'terminating';
    const again = jobs.lose(thread, why, crash, replace);
    for (let i = again.length - 1; i >= 0; i--) {
      const job = again[i]!;
      const cancelled = job.group.cancelledBy;
      if (cancelled === undefined) {
        scheduler.requeue(job);
        continue;
      }
      // Its group was cancelled while it was out of every queue and thread (taken back from this
      // one: a failure above may have ended its stream), so the cancel did not reach it: it never starts.
      job.thread = undefined;
      job.slot = -1;
      jobs.cancel(job, cancelled);
    }
    if (!replace && threadSet.state !== 'terminating' && threadSet.state !== 'ended') {
      // An event-loop thread ends with its thread: everything queued fails, saying it never started.
      threadSet.state = 'terminating';
      const how = crash === undefined ? `was ended because ${why}` : `died (${crash.message})`;
      this.failQueued(
        new WorkerCrashedError(crash?.exitCode ?? 1, {
          message: `The thread this task was submitted to ${how} before the task started`,
          cause: crash?.cause,
        }),
      );
      threadSet.stopAll();
    }
  }

  /** A thread died before its loop ran: retry with back-off, then fail what waits. */
  private startFailed(crash: WorkerCrashedError): void {
    const error = this.engine.threadSet.startFailed(crash);
    if (error !== undefined) this.failQueued(error);
  }
}
