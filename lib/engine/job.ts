import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';
import type { ClockReading } from '../util/clock';
import { Queue } from '../util/queue';
import { Backlog } from './backlog';
import type { StreamSpecHandle } from './port';
import type { ThreadHandle } from './thread-handle';
import { CallBundle, mayShare, takeSharing, ValueTimes } from './values';

/**
 * What a job runs and how it settles: every job of a stream shares one (its values wait as bare
 * inputs, not as jobs; the stream's run is its spec); a `run()` call has one of its own. `settle`
 * and `yielded` are methods of an object, not closures: the engine's hot code calls them through
 * the object's shape, so a new subscription (a new object of the same class) does not throw away
 * code that was optimized for the last one's closures.
 */
export interface JobSpec {
  readonly def: TaskDefinition;
  /** Ms a job may run once started on its thread; 0 for no limit. */
  readonly timeout: number;
  /**
   * Called exactly once per job: with an error, or with `undefined` and the result. For a job of
   * several values (`job.values`), once per value, `index` saying which.
   */
  settle(error: Error | undefined, value: unknown, job: Job, index: number): void;
  /**
   * Set when the caller takes a stream: called with the values a streaming task yields, in order
   * (`index`: which value of a job of several yielded them).
   */
  readonly yielded?: ((job: Job, values: unknown[], index: number) => void) | undefined;
  /** For a stream: the results of consecutive values of a job of several, at once (as in `StreamSpecHandle`). */
  readonly settleRun?: StreamSpecHandle['settleRun'];
  /**
   * Set for a job that may be cancelled on its own (a `run()` call with a signal): it always goes
   * as a job of its own, never with other calls in a job of several values.
   */
  readonly alone?: boolean;
}

/** A thread as the engine sees it: a thread handle holding jobs. */
export type JobThread = ThreadHandle<Job>;

/** A new job, not yet queued: `spec`'s task on `input`, for `group`; `tag` is its position in a stream, or -1. */
export function newJob(
  spec: JobSpec,
  group: Group,
  input: unknown,
  transfer: readonly Transferable[] | undefined,
  submittedAt: ClockReading,
  tag: number,
): Job {
  return {
    def: spec.def,
    input,
    transfer,
    group,
    spec,
    settled: false,
    thread: undefined,
    slot: -1,
    bytes: 0,
    timeout: spec.timeout,
    submittedAt,
    yielded: spec.yielded !== undefined,
    tag,
    moved: false,
    values: 0,
    delivered: 0,
  };
}

/** Values a job carries: 1 for a job of one value. */
export function weightOf(job: Job): number {
  return job.values === 0 ? 1 : job.values;
}

/** One task run on one input, from submission until it settles and its slot is free again. */
export interface Job {
  readonly def: TaskDefinition;
  /** Dropped (set to `undefined`) when the job is cancelled while queued, so memory is freed at once. */
  input: unknown;
  transfer: readonly Transferable[] | undefined;
  readonly group: Group;
  /** What it runs and whom it settles. */
  readonly spec: JobSpec;
  /** Settled (a result, an error, or cancelled); the slot may still be held until the thread acks. */
  settled: boolean;
  /** The thread holding it, once assigned. */
  thread: JobThread | undefined;
  slot: number;
  /** Bytes of buffer input, counted while a thread holds the job. */
  bytes: number;
  /** Ms the job may run once started on its thread; 0 for no limit. */
  readonly timeout: number;
  /** When it was submitted, for its wait time. */
  readonly submittedAt: ClockReading;
  /** True when the caller takes a stream of values (an operator): a streaming task may yield them. */
  readonly yielded: boolean;
  /** The submitter's number for this job (its input's position in a stream), or -1. */
  readonly tag: number;
  /** Its transfer list was posted to a thread: the input is gone from here, so it can never run elsewhere. */
  moved: boolean;
  /**
   * 0 for a job of one value; n ≥ 1 for a job of n consecutive values of one stream (`input` is
   * their array, `tag` the first one's position), each settled on its own as its outcome arrives.
   */
  values: number;
  /** Values of a job of several whose outcome has arrived (they arrive in order). */
  delivered: number;
}

/**
 * The jobs of one submitter (a subscription, or every `run()` call of a pool), with the limits
 * that keep at most `concurrency` of them running at once.
 */
export class Group {
  private readonly items = new Queue<Job>();
  // A stream's values wait here as bare inputs (see backlog.ts) and become jobs only when a thread
  // takes them. Jobs in `items` (taken back from a dying thread, or looked at and left) come first.
  private readonly backlog = new Backlog();
  /**
   * The backlog's first value made a job (looked at by `peek`, not yet taken): it comes after
   * `items` and before the rest of the backlog. A field, not a push to `items`, since a stream's
   * every value passes here and `items` would be an array allocated and emptied per value.
   */
  private made: Job | undefined;
  /** Set for a stream: its values may be fed as bare inputs. */
  spec: JobSpec | undefined;
  /**
   * Set for a stream whose values may travel several to a job (a pool's threads, no timeout):
   * once its task is measured tiny, consecutive values go as one job, which costs the main thread
   * its bookkeeping (slot, messages, outcome) once rather than per value.
   */
  valuesPerJob = false;
  /** Set for a pool's `run()` calls: consecutive calls of a task measured tiny may share a job (`CallBundle`). */
  private bundlesCalls = false;
  /** What its tasks' values took, for how many a job may carry; set for either of the above. */
  private times: ValueTimes | undefined;
  /** Jobs assigned to a thread and not yet acknowledged by it. */
  inFlight = 0;
  /** Why the group was cancelled as a whole (`cancelGroup`), if it was: none of its jobs may start from then on. */
  cancelledBy: Error | undefined;
  /** Jobs in the queue that are not cancelled (the queue keeps cancelled ones until reached). */
  waiting = 0;
  /** Jobs assigned to each thread, kept only when `maxThreads` can bind. */
  readonly threads = new Map<JobThread, number>();
  constructor(
    /** Most threads this group may use at once (a pool thread runs one job at a time). */
    readonly maxThreads: number,
    /** Most jobs this group may have on threads at once (an event-loop thread runs them all). */
    readonly maxInFlight: number,
    /** Whether `maxThreads` is below the thread count and so must be tracked. */
    readonly tracksThreads: boolean,
  ) {}

  get queued(): number {
    return this.items.length + (this.made === undefined ? 0 : weightOf(this.made)) + this.backlog.length;
  }

  /** Lets this stream's values go several to a job once measured tiny (`valuesPerJob`), from `taskTimes`' last measure. */
  measuresValues(key: number, taskTimes: Map<number, number>): void {
    this.valuesPerJob = true;
    this.times = new ValueTimes(taskTimes, key);
  }

  /** Lets consecutive `run()` calls go several to a job (see `bundlesCalls`), by what `taskTimes` says of their task. */
  bundlesCallsBy(taskTimes: Map<number, number>): void {
    this.bundlesCalls = true;
    this.times = new ValueTimes(taskTimes, undefined);
  }

  /** Whether `job`, a `run()` call just queued, may share a job with the turn's later calls (task measured tiny). */
  bundles(job: Job): boolean {
    return this.bundlesCalls && mayShare(job) && this.times!.forCalls(job.def.key) > 1;
  }

  /** A job of task `key` of this group ran `values` values in the ms its slot says. */
  measure(slots: { ranMs(slot: number): number }, slot: number, values: number, key: number): void {
    if (this.valuesPerJob || this.bundlesCalls) this.times!.measure(slots.ranMs(slot), values, key);
  }

  /**
   * `first`, a queued `run()` call, with the calls after it that may share its job (see
   * `bundlesCalls`), taken out of the queue; `undefined` if none may.
   */
  private bundle(first: Job): Job | undefined {
    if (!mayShare(first)) return undefined;
    const max = this.times!.forCalls(first.def.key);
    const calls = max < 2 ? undefined : takeSharing(this.items, max);
    if (calls === undefined) return undefined;
    const inputs = calls.map((call) => call.input);
    const bundle = newJob(new CallBundle(first.def, calls), this, inputs, undefined, first.submittedAt, 0);
    bundle.values = calls.length;
    this.items.unshift(bundle);
    return bundle;
  }

  /** Queues a stream's value without making a job of it yet. */
  feed(input: unknown, transfer: readonly Transferable[] | undefined, at: ClockReading, tag: number): void {
    this.backlog.push(input, transfer, at, tag);
    this.waiting++;
  }

  private readonly make = (
    input: unknown,
    transfer: readonly Transferable[] | undefined,
    time: ClockReading,
    tag: number,
  ): Job => newJob(this.spec!, this, input, transfer, time, tag);

  private readonly makeValues = (inputs: unknown[] | Float64Array, time: ClockReading, tag: number): Job => {
    const job = newJob(this.spec!, this, inputs, undefined, time, tag);
    job.values = inputs.length;
    return job;
  };

  /** Queues a job at the end: for `run`/`submit`, whose groups have no backlog. */
  push(job: Job): void {
    this.items.push(job);
    this.waiting++;
  }

  /** Puts a job taken back from a dying thread at the front, so it keeps its place. */
  unshift(job: Job): void {
    this.items.unshift(job);
    this.waiting += weightOf(job);
  }

  /** The first job not cancelled, left in the queue; cancelled ones before it are dropped. */
  peek(): Job | undefined {
    for (;;) {
      // Jobs in `items` (taken back from a thread, or pushed by run()) come before the backlog's.
      let job = this.items.peek();
      if (job !== undefined && this.bundlesCalls && job.values === 0 && !job.settled) job = this.bundle(job) ?? job;
      job ??= this.made;
      if (job === undefined) {
        if (this.backlog.length === 0) return undefined;
        const values = this.valuesPerJob ? this.times!.forStream() : 1;
        job = this.made =
          (values > 1 ? this.backlog.takeValues(values, this.makeValues) : undefined) ?? this.backlog.take(this.make);
      }
      if (!job.settled) return job;
      this.shift();
    }
  }

  shift(): Job | undefined {
    if (this.items.length > 0) return this.items.shift();
    const made = this.made;
    this.made = undefined;
    return made;
  }

  /**
   * Empties the queue. Returns its jobs, and how many bare inputs of a stream's backlog were
   * dropped; the first of those is made a job and returned too, so that a caller that fails every
   * returned job tells the stream (whose jobs share one settle function) that it failed. With
   * `every`, each bare input is made a job and returned, none dropped: a stream that settles its
   * values (`settle`) goes on after a failure, and waits for every value's outcome.
   */
  drain(every = false): { jobs: Job[]; dropped: number } {
    let dropped = this.backlog.length;
    const jobs = this.items.drain();
    if (this.made !== undefined) jobs.push(this.made);
    if (every) {
      while (this.backlog.length > 0) jobs.push(this.backlog.take(this.make));
      dropped = 0;
    } else if (dropped > 0 && !jobs.some((job) => !job.settled)) {
      jobs.push(this.backlog.take(this.make));
      dropped--;
    }
    this.made = undefined;
    this.waiting = 0;
    this.backlog.clear();
    return { jobs, dropped };
  }

  canTake(thread: JobThread): boolean {
    if (this.inFlight >= this.maxInFlight) return false;
    return !this.tracksThreads || this.threads.has(thread) || this.threads.size < this.maxThreads;
  }

  assigned(thread: JobThread): void {
    this.inFlight++;
    if (this.tracksThreads) this.threads.set(thread, (this.threads.get(thread) ?? 0) + 1);
  }

  released(thread: JobThread): void {
    this.inFlight--;
    if (this.tracksThreads) {
      const left = (this.threads.get(thread) ?? 1) - 1;
      if (left === 0) this.threads.delete(thread);
      else this.threads.set(thread, left);
    }
  }
}
