import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Redis } from 'ioredis';
import { threadEngineOf } from '../../owners/owner';
import type { ThreadPool } from '../../owners/pool';
import { type GroupRuns, submitGroup } from '../../owners/submit';
import type { TaskLike } from '../../task/task';
import {
  AbortError,
  abortedBy,
  SerializationError,
  TaskError,
  TimeoutError,
  WorkerCrashedError,
} from '../../util/errors';
import { decodeValue, encodeValue, type JobData, RemoteOutcome, type Reply, wireOf } from '../../wire/remote';
import { Replies } from './replies';

/** What an input's run came to, as its reply carries it. */
type Outcome = [RemoteOutcome, unknown, number?];

/** The local pool as a task server runs jobs on it: its size, and a job's inputs run as one group. */
export interface ServerPool {
  readonly size: number;
  runGroup(
    task: TaskLike<unknown, unknown>,
    inputs: readonly unknown[],
    options: { readonly timeout?: number | undefined },
  ): GroupRuns<unknown>;
}

/** A job's cancel: why, once cancelled (by its caller, or as its caller is gone); and its runs' cancel. */
interface JobCancel {
  reason: Error | undefined;
  runs: ((reason: Error) => void) | undefined;
}

/** A pool's threads as a task server's: a job's inputs cancelled together, so they may share jobs (`submitGroup`). */
export function serverPool(pool: ThreadPool): ServerPool {
  return {
    size: pool.size,
    runGroup: (task, inputs, options) => submitGroup(threadEngineOf(pool), task, inputs, options),
  };
}

/** How long a cancel that arrived before its job was kept for it. */
const earlyCancelMs = 60_000;

/**
 * The job processing of a task server: runs each input of a BullMQ job on the local pool, pushes
 * each outcome onto its caller's reply list, and aborts the jobs that their callers cancel.
 */
export class JobProcessor {
  /** Set by `terminate`: an aborted job goes back to the queue (one of its runs) instead of failing. */
  requeue = false;
  /** Set once the server gave up on Redis: see `abandon`. */
  #abandoned = false;
  /** Wake the jobs that wait for Redis to answer, should the server give up on it. */
  readonly #wakers = new Set<() => void>();
  /** Outcomes on their way to the callers, and which callers are alive. */
  readonly #replies: Replies;
  /** Cancels that came before their job reached the processor, by job id, with when they expire. */
  readonly #early = new Map<string, number>();
  /** The order in which the jobs running here started, by job id. */
  readonly #order = new Map<string, number>();
  #started = 0;
  /** Inputs handed to the pool and not settled. */
  #inPool = 0;
  #running = 0;
  #served = 0;
  #cancelled = 0;

  /**
   * @param client The command connection, on which the replies go out.
   * @param cancelJob Aborts a job this worker holds; false if it holds no such job.
   */
  constructor(
    private readonly pool: ServerPool,
    client: Redis,
    private readonly tasks: ReadonlyMap<string, TaskLike<unknown, unknown>>,
    private readonly queue: string,
    private readonly cancelJob: (id: string) => boolean,
  ) {
    this.#replies = new Replies(client);
  }

  /** Jobs running, served (outcome reported) and cancelled by their callers, now. */
  counts(): { running: number; served: number; cancelled: number } {
    return { running: this.#running, served: this.#served, cancelled: this.#cancelled };
  }

  /**
   * The server gave up on a Redis that does not answer: the jobs running here stop waiting for it
   * and end without another command. They stay active in Redis until their locks expire; then
   * another worker runs them again, as one of their `attempts`.
   */
  abandon(): void {
    this.#abandoned = true;
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
  }

  /** Waits for `work`, a command to Redis, until the server gives up on Redis: it may never answer. */
  async #unlessAbandoned(work: Promise<unknown>): Promise<void> {
    // A promise of each call's own (not one shared by all): the jobs that end do not pile up on it.
    let wake: () => void = () => {};
    const gaveUp = new Promise<void>((resolve) => {
      wake = resolve;
    });
    if (this.#abandoned) wake();
    else this.#wakers.add(wake);
    try {
      // `gaveUp` first: once given up, it wins even over a command that has already failed.
      await Promise.race([gaveUp, work]);
    } finally {
      this.#wakers.delete(wake);
    }
  }

  /** A message of the cancel channel: the ids of the jobs their callers cancelled, as JSON. */
  onCancel(message: string): void {
    let ids: unknown;
    try {
      ids = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(ids)) return;
    const now = Date.now();
    for (const [id, until] of this.#early) if (until < now) this.#early.delete(id);
    // Newest first: the pool runs jobs in the order they came, so the newest still wait for a
    // thread (or sit on one, handed ahead of time). Cancelled first, they cannot start in the moment
    // a thread is freed by aborting an older, running one.
    const known = ids.filter((id): id is string => typeof id === 'string');
    known.sort((a, b) => (this.#order.get(b) ?? -1) - (this.#order.get(a) ?? -1));
    for (const id of known) {
      // Not running here: it may be on its way to this processor (moved to active in Redis, not yet
      // started), so the cancel is kept for it. For a job on another worker it just expires.
      if (!this.cancelJob(id)) this.#early.set(id, now + earlyCancelMs);
    }
  }

  /** BullMQ's processor: runs the job's inputs and reports each outcome as soon as it is known. */
  async process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const data = job.data as JobData;
    const id = job.id ?? '';
    if (this.#early.delete(id) || signal?.aborted) {
      this.#cancelled++;
      throw new UnrecoverableError('Cancelled by its caller');
    }
    if (this.requeue && token !== undefined) {
      // The server is terminating: a job BullMQ fetched all the same (its fetch was under way when
      // the worker began to close, or a job aborted here came straight back) goes back unstarted.
      await this.#unlessAbandoned(job.moveToWait(token));
      throw new WaitingError();
    }
    this.#running++;
    this.#order.set(id, this.#started++);
    // The job's inputs run as a group of their own, which may share jobs on the pool's threads;
    // its cancel stops those not started before it aborts the running ones.
    const cancel: JobCancel = { reason: undefined, runs: undefined };
    const abort = (reason: Error): void => {
      if (cancel.reason !== undefined) return;
      cancel.reason = reason;
      cancel.runs?.(reason);
    };
    const onAbort = (): void => abort(abortedBy(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    // A job whose caller closed or died is stopped: nobody waits for its outcome. Checked beside
    // the run rather than before it, so that a live caller's job does not wait for the answer.
    this.#replies.checkCaller(data, () => abort(new AbortError('Its caller is gone')));
    try {
      // Each input's outcome goes out as soon as it is known (with the others known in the same
      // turn), so that an ordered stream can emit the first inputs of a batch while the others run.
      const sent: Promise<unknown>[] = [];
      let aborted = false;
      const runs = this.#runAll(job, data, cancel);
      await Promise.all(
        runs.map((run, index) => {
          // The time of one input on a thread, estimated from its wait: with `ahead` inputs before
          // it in the pool, it waited about ahead / threads turns of that time before it ran.
          const ahead = this.#inPool++;
          const started = performance.now();
          return run.then(
            (outcome) => {
              this.#inPool--;
              if (outcome === undefined) {
                aborted = true;
                return;
              }
              const [kind, value, exitCode] = outcome;
              const ms = (performance.now() - started) / (Math.floor(ahead / this.pool.size) + 1);
              const reply: Reply = [id, index, kind, value, exitCode, ms];
              sent.push(this.#replies.send(data, reply));
              this.#served++;
            },
            (error: unknown) => {
              this.#inPool--;
              throw error;
            },
          );
        }),
      );
      await this.#unlessAbandoned(Promise.all(sent));
      // Left as it is in Redis: BullMQ sends nothing for a WaitingError.
      if (this.#abandoned) throw new WaitingError();
      if (aborted) {
        this.#cancelled++;
        if (this.requeue && token !== undefined) {
          await this.#unlessAbandoned(job.moveToWait(token));
          throw new WaitingError();
        }
        throw new UnrecoverableError('Cancelled by its caller');
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#order.delete(id);
      this.#running--;
    }
  }

  /** The error of a job for a task name this worker does not serve: what was asked for, and what is served. */
  #notServed(name: string): Error {
    const served = [...this.tasks.keys()].sort().join(', ');
    const serves = served === '' ? 'this worker serves no tasks' : `this worker serves: ${served}`;
    return new Error(
      `No task named ${JSON.stringify(name)} is served on queue ${JSON.stringify(this.queue)}; ${serves}`,
    );
  }

  /** The outcome of each input, or `undefined` for a cancelled one (nobody waits for it). */
  #runAll(job: Job, data: JobData, cancel: JobCancel): Promise<Outcome | undefined>[] {
    const all = (outcome: Outcome) => data.i.map(() => Promise.resolve(outcome));
    if (job.attemptsStarted > data.a) {
      const cause = new Error(
        `The job ran ${data.a} time${data.a === 1 ? '' : 's'} (attempts) and its worker stopped each time`,
      );
      return all([RemoteOutcome.Crashed, wireOf(cause), 1]);
    }
    const task = this.tasks.get(data.t);
    if (task === undefined) return all([RemoteOutcome.Threw, wireOf(this.#notServed(data.t))]);
    const outcomes: (Promise<Outcome | undefined> | undefined)[] = [];
    const values: unknown[] = [];
    for (const input of data.i) {
      try {
        values.push(decodeValue(Buffer.from(input, 'base64')));
        outcomes.push(undefined);
      } catch (error) {
        outcomes.push(Promise.resolve([RemoteOutcome.Unclonable, wireOf(error)]));
      }
    }
    let runs: Promise<unknown>[];
    try {
      const group = this.pool.runGroup(task, values, { timeout: data.o > 0 ? data.o : undefined });
      runs = group.runs;
      cancel.runs = group.cancel;
      if (cancel.reason !== undefined) group.cancel(cancel.reason);
    } catch (error) {
      // The pool refused the task itself (see `#failed`): every input fails with its error.
      runs = values.map(() => Promise.reject(error));
    }
    // Never rejects: a failure, an unclonable result included, is an outcome like a result.
    const failed = (error: unknown) => this.#failed(data, error, cancel);
    const ok = (result: unknown): Outcome | undefined => {
      try {
        return [RemoteOutcome.Ok, encodeValue(result, 'The result')];
      } catch (error) {
        return failed(error);
      }
    };
    let next = 0;
    return outcomes.map((outcome) => outcome ?? runs[next++]!.then(ok, failed));
  }

  /** The outcome of an input whose run failed, or `undefined` if it was cancelled. */
  #failed(data: JobData, error: unknown, cancel: JobCancel): Outcome | undefined {
    if (cancel.reason !== undefined && error instanceof AbortError) return undefined;
    if (error instanceof TimeoutError) return [RemoteOutcome.TimedOut, wireOf(error), error.timeout];
    if (error instanceof TaskError) return [RemoteOutcome.Threw, wireOf(error)];
    if (error instanceof SerializationError) return [RemoteOutcome.Unclonable, wireOf(error.cause ?? error)];
    if (error instanceof WorkerCrashedError) return [RemoteOutcome.Crashed, wireOf(error), error.exitCode];
    if (error instanceof TypeError) {
      // The pool refused the task itself: a streaming (generator) task, which does not run remotely.
      const refused = new TypeError(`The worker cannot run task '${data.t}' remotely: ${error.message}`);
      return [RemoteOutcome.Threw, wireOf(refused)];
    }
    return [RemoteOutcome.Threw, wireOf(error)];
  }
}
