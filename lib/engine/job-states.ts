import { ClosedError, type SerializationError, TimeoutError, WorkerCrashedError } from '../util/errors';
import { checkNotDetached } from '../wire/transfer';
import { type Job, type JobThread, newJob } from './job';
import { closedError, endedMessage } from './job-errors';

/**
 * The one place that decides what becomes of a job. A job's life:
 *
 * ```text
 *             send                thread starts it        thread finishes it        result read
 *   queued ─────────▶ sent ───────────────────────▶ started ─────────────────▶ finished ──────────▶ delivered
 *     ▲                 │                              │                          │
 *     └──── revoke ─────┘ (stolen, or its thread       │ its thread is ended:     │ its thread is ended: delivered from
 *           is ended; only while still Pending)        │ failed, never re-run     │ what the thread posted, else failed
 *
 *   cancel: queued or sent → cancelled (it never starts); started → its signal fires, and a task still
 *   running after cancelGraceMs has its thread ended (a pool) or is abandoned (an event-loop thread).
 * ```
 *
 * `queued`, `sent` and `delivered` are the main thread's (`job.thread`, `job.settled`); `started` and
 * `finished` are the thread's, in the slot's word in shared memory (`Slot` in protocol.ts), which
 * the thread writes before a task starts and after it finishes, so what it says survives
 * `terminate()`. Only a job whose word is still `Pending` can be revoked, by compare-and-swap
 * against the thread's own swap to `Started`: **a task starts at most once per submission**.
 */
export class JobStates {
  completed = 0;
  failed = 0;
  cancelled = 0;

  /**
   * Settles a job: its caller gets `error`, or `value`. Exactly once; later calls do nothing. A job
   * of several values settled as a whole (cancelled, or failed with its thread) settles each of its
   * values not yet delivered with `error`.
   */
  settle(job: Job, error: Error | undefined, value?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.values === 0) job.spec.settle(error, value, job, 0);
    else for (let i = job.delivered; i < job.values; i++) job.spec.settle(error, undefined, job, i);
  }

  /** Settles a job as failed, counting it (each value not yet delivered, for a job of several). */
  fail(job: Job, error: Error): void {
    if (job.settled) return;
    this.failed += unsettled(job);
    this.settle(job, error);
  }

  /** Settles a job as cancelled (or terminated), counting it. */
  abort(job: Job, error: Error): void {
    if (job.settled) return;
    this.cancelled += unsettled(job);
    this.settle(job, error);
  }

  /**
   * A job that cannot be queued (its owner is closed, or a buffer it moves is already detached) is
   * settled in a microtask, never synchronously inside the call that submitted it. Returns true then.
   */
  refuse(job: Job, state: 'open' | 'closing' | 'terminating' | 'ended', owner: string): boolean {
    const refused = state !== 'open' ? closedError(owner, state) : checkNotDetached(job.transfer);
    if (refused === undefined) return false;
    job.settled = true;
    if (!(refused instanceof ClosedError)) this.failed++;
    queueMicrotask(() => job.spec.settle(refused, undefined, job, 0));
    return true;
  }

  /** queued → sent: the job takes a slot on `thread`, and goes out with its next batch. */
  send(job: Job, thread: JobThread): void {
    job.group.assigned(thread);
    thread.assign(job);
  }

  /**
   * sent → queued, for a job the thread has not started (compare-and-swap on its word). Its slot
   * stays taken until the thread answers `Skipped`, if it still lives. Returns false if it started.
   */
  revoke(job: Job): boolean {
    const thread = job.thread!;
    if (!thread.revoke(job.slot)) return false;
    job.group.released(thread);
    job.thread = undefined;
    job.slot = -1;
    return true;
  }

  /**
   * A job's outcome arrived (finished → delivered), or the thread skipped it: frees its slot and
   * returns the job, if the slot still held one that is not settled.
   */
  arrived(thread: JobThread, slot: number): Job | undefined {
    const job = thread.release(slot);
    if (job === undefined) return undefined;
    job.group.released(thread);
    return job.settled ? undefined : job;
  }

  /**
   * Cancels a job. Queued: it stays in its queue, skipped when reached. Sent and not started: it
   * never starts. Returns 'running' if it had started: its signal was fired, the caller arms the grace.
   */
  cancel(job: Job, reason: Error): 'queued' | 'unstarted' | 'running' | 'settled' {
    if (job.settled) return 'settled';
    if (reason instanceof TimeoutError) this.failed += unsettled(job);
    else this.cancelled += unsettled(job);
    this.settle(job, reason);
    const thread = job.thread;
    if (thread !== undefined && !thread.cancel(job.slot, reason instanceof TimeoutError ? reason.timeout : undefined)) {
      return 'running';
    }
    // It will never start: its input is let go of now, not when its queue or thread reaches it.
    job.input = undefined;
    job.transfer = undefined;
    return thread === undefined ? 'queued' : 'unstarted';
  }

  /** Jobs whose input could not be sent: their slots are free already; they fail with `error`. */
  unsendable(thread: JobThread, failures: [Job, SerializationError][]): void {
    for (const [job, error] of failures) {
      job.group.released(thread);
      this.fail(job, error);
    }
  }

  /** Terminated: every job the thread holds fails with `error`, whatever its state. */
  terminated(thread: JobThread, error: Error): void {
    for (const job of thread.takeAll()) {
      job.group.released(thread);
      this.abort(job, error);
    }
  }

  /**
   * A thread is being ended (`why` says why, for the other jobs' errors) or has died. Its jobs:
   * - not started: returned, to run elsewhere (`requeue`), unless their buffers moved to it;
   * - started, not finished: fail with `crash` if given (the thread died running them), else with a
   *   `WorkerCrashedError` that says why the thread was ended (their own cause, if any, settled them already);
   * - finished: stay on the thread until its exit, so that the results it posted are still delivered
   *   ({@link exited} fails those that never came).
   */
  lose(thread: JobThread, why: string, crash: WorkerCrashedError | undefined, requeue: boolean): Job[] {
    thread.endedBecause = why;
    const { pending, started } = thread.takeBack();
    const again: Job[] = [];
    const ended = () => crash ?? new WorkerCrashedError(thread.exitCode, { message: `${endedMessage} ${why}` });
    for (const job of started) {
      // A job of several values that finished some values stays held for their results, like a finished job.
      const kept = thread.jobs[job.slot] === job;
      if (!kept) job.group.released(thread);
      if (job.values === 0 || job.settled) {
        this.fail(job, ended());
        continue;
      }
      // A job of several values: the one it was running fails, those after it never started and
      // go again, and those before it finished (their results may still arrive until the exit).
      // Its thread notes which value it starts before starting it: the one noted may have finished
      // too, but unless its result came, it fails rather than run twice.
      const progress = thread.slots.progress(job.slot);
      let from = job.delivered;
      if (progress >= job.delivered) {
        this.failed++;
        job.spec.settle(ended(), undefined, job, progress);
        from = progress + 1;
      }
      if (from < job.values) {
        const rest = valuesJob(job, from);
        if (requeue && !job.moved) again.push(rest);
        else this.fail(rest, ended());
      }
      job.values = Math.max(progress, job.delivered);
      if (!kept) job.settled = true;
    }
    for (const job of pending) {
      job.group.released(thread);
      // A job whose buffers were moved to that thread has no input left here: it fails rather than
      // run again on detached (empty) buffers.
      if (requeue && !job.moved && !job.settled) again.push(job);
      else this.fail(job, new WorkerCrashedError(thread.exitCode, { message: `${endedMessage} ${why}` }));
    }
    return again;
  }

  /**
   * The thread has exited, and every message it posted has been read: a finished job still held
   * finished in the thread but its result never left it. It is not run again: it fails, saying why.
   */
  exited(thread: JobThread): void {
    for (const job of thread.takeAll()) {
      job.group.released(thread);
      this.fail(
        job,
        new WorkerCrashedError(thread.exitCode, {
          message: `This task finished, but its result was still in its thread when the thread was ended because ${thread.endedBecause ?? 'it exited'}`,
        }),
      );
    }
  }
}

/** Values of a job still to be settled: 1 for a job of one value. */
function unsettled(job: Job): number {
  return job.values === 0 ? 1 : job.values - job.delivered;
}

/** A job of the values of a job of several from `from` on. */
function valuesJob(job: Job, from: number): Job {
  const inputs = job.input as unknown[] | Float64Array;
  const rest = newJob(job.spec, job.group, inputs.slice(from, job.values), undefined, job.submittedAt, job.tag + from);
  rest.values = job.values - from;
  return rest;
}
