import { TimeoutError } from '../util/errors';
import { toWire, type WireError } from '../wire/errors';
import type { ThreadInit } from '../wire/thread';
import { Slot, SlotInt, slotInts } from '../wire/words';
import { explainThrown } from './inline-scope';
import { type ContextRunner, JobContext, type SlotContext, ValueContext, type ValuesJob } from './job-context';
import type { Loaded, TaskLoader } from './loader';
import type { Outbox } from './outbox';
import { RunTimes } from './run-times';
import { driveStream, isGenerator } from './stream-task';

/** A generator given to `run`/`submit`, which take one value: the task streams, and may not. */
const refused: unique symbol = Symbol('refused');
/** What `call` returns: a promise if the task did not finish synchronously, or `refused`. */
type Settled = Promise<void> | undefined | typeof refused;

/**
 * Runs the jobs of a pool or event-loop thread: starts each in its slot unless the main thread
 * cancelled it first, calls its task and hands the outcome to the outbox. It keeps the context of
 * each running job, and the thread's busy time and run and wait times in shared memory.
 */
export class JobRunner implements ContextRunner {
  /** Slot states ({@link Slot}), changed by both sides with compare-and-swap. */
  readonly states: Int32Array;
  /** Per-slot Int32 fields ({@link SlotInt}), then the thread's ({@link ThreadInt}). */
  readonly ints: Int32Array;
  /** The context of the job running in each slot, so a `cancel` message can fire its signal. */
  private readonly contexts: (SlotContext | undefined)[] = [];
  /** Its times in shared memory, and the last run timed. */
  readonly clock: RunTimes;
  /** Set by a job of several values while a value runs that its group times later (see `valueEnded`). */
  untimed = false;
  /** Values of the group so far, ended untimed. */
  untimedValues = 0;
  /** Jobs abandoned by the main thread that may still be running here. */
  abandoned = 0;

  constructor(
    init: ThreadInit,
    private readonly loader: TaskLoader,
    private readonly outbox: Outbox,
  ) {
    this.states = new Int32Array(init.states);
    this.ints = new Int32Array(init.ints);
    this.clock = new RunTimes(init, outbox);
  }

  /** Starts the job in `slot`; returns a promise only if it did not finish synchronously. */
  start(slot: number, key: number, input: unknown): Promise<void> | undefined {
    const started = performance.now();
    if (!this.begin(slot, started)) return undefined;
    const loaded = this.loader.ready(key);
    if (loaded !== undefined) return this.execute(loaded, slot, key, input, started);
    return this.loader.load(key).then((ready) => this.execute(ready, slot, key, input, started));
  }

  /** Task `key`, ready to run, or its loading. */
  loaded(key: number): Loaded | Promise<Loaded> {
    return this.loader.ready(key) ?? this.loader.load(key);
  }

  /**
   * Marks the job in `slot` started at `started` (performance.now()), unless the main thread
   * cancelled or revoked it first: then it answers `Skipped` and returns false.
   */
  begin(slot: number, started: number): boolean {
    // Written before the slot turns Started, so that whoever sees Started reads this job's start.
    this.clock.startsAt(slot, started);
    // The main thread may have cancelled or revoked the job while it waited here: whoever swaps
    // the slot first decides, so a cancelled job can never start.
    if (Atomics.compareExchange(this.states, slot, Slot.Pending, Slot.Started) !== Slot.Pending) {
      this.outbox.skipped(slot);
      return false;
    }
    this.clock.taskStarted(started);
    // The main thread waits for this start to time the job out.
    if (this.ints[slot * slotInts + SlotInt.Watched] !== 0) Atomics.notify(this.states, slot);
    return true;
  }

  /**
   * Runs value `index` of the job of several values in `slot` (`job`); its `last` value ends the
   * job. Returns a promise only if it did not finish synchronously. A task that cannot reach its
   * context (`Loaded.bare`) is called without one, and a value of it that ends at once ends as its
   * context would have; one that returns an object (a promise, a generator) gets its context then,
   * unseen by the task, for a cancel or an abandon to reach it.
   */
  runValue(
    loaded: Loaded,
    job: ValuesJob,
    last: boolean,
    slot: number,
    key: number,
    input: unknown,
    index: number,
  ): Promise<void> | undefined {
    // Noted before the value starts: if the thread is lost, the values after it go again and it does not.
    Atomics.store(this.ints, slot * slotInts + SlotInt.Progress, index);
    if (loaded.bare !== true) {
      const ctx = new ValueContext(job, last);
      return this.settled(this.call(loaded, ctx, slot, key, input), ctx, slot);
    }
    this.contexts[slot] = undefined;
    let result: unknown;
    try {
      result = (loaded.fn as (input: unknown) => unknown)(input);
    } catch (error) {
      this.valueEnded(slot, job.groupStarted, last ? job.jobStarted : -1);
      this.outbox.threw(slot, this.describe(error, key));
      return undefined;
    }
    if (typeof result === 'object' || typeof result === 'function') {
      const ctx = new ValueContext(job, last);
      this.contexts[slot] = ctx;
      return this.settled(this.settleObject(result, ctx, slot, key), ctx, slot);
    }
    this.valueEnded(slot, job.groupStarted, last ? job.jobStarted : -1);
    this.outbox.ok(slot, result);
    return undefined;
  }

  /** A job of several values stops before its last one (cancelled): the job is over. */
  endValues(slot: number, jobStarted: number, groupStarted: number): void {
    const now = performance.now();
    this.close(slot, now, jobStarted);
    this.endGroup(slot, groupStarted, now);
  }

  /**
   * Records the values of the job of several in `slot` that ended untimed since `groupStarted`, if
   * any, as ending `now` (a clock reading, taken if not given).
   */
  endGroup(slot: number, groupStarted: number, now = -1): void {
    const values = this.untimedValues;
    if (values === 0) return;
    this.untimedValues = 0;
    this.clock.record(slot, groupStarted, now < 0 ? performance.now() : now, values);
  }

  /** A `cancel` message: fires the signal of the job in `slot`, if it runs. */
  cancel(slot: number, timeoutMs: number | undefined): void {
    this.contexts[slot]?.abort(timeoutMs === undefined ? undefined : new TimeoutError(timeoutMs));
  }

  /** An `abandon` message: the job in `slot` is left to itself, its slot acknowledged. */
  abandon(slot: number): void {
    this.contexts[slot]?.leave();
    this.contexts[slot] = undefined;
    this.outbox.skipped(slot);
    this.outbox.flushSoon();
  }

  /** A task stopped running (it ended, or was abandoned). */
  notRunning(now: number): void {
    this.clock.taskStopped(now);
  }

  /**
   * The job in `slot` ended at `now` (see {@link JobContext.end}): frees its slot and records its
   * times. False if the main thread has just abandoned it: then its outcome must not be sent.
   */
  finish(slot: number, started: number, now: number): boolean {
    if (!this.close(slot, now, started)) return false;
    this.clock.record(slot, started, now);
    return true;
  }

  /**
   * A value of a job of several ended; with `jobStarted` ≥ 0 it was the last, and ends the job (as
   * {@link finish} ends a job of one value). While `untimed` is set it ends with no clock reading:
   * it is timed with the next value that reads one, from `started`, the start of their group.
   */
  valueEnded(slot: number, started: number, jobStarted: number): void {
    if (this.untimed) {
      this.untimedValues++;
      return;
    }
    const now = performance.now();
    if (jobStarted >= 0) this.close(slot, now, jobStarted);
    const values = this.untimedValues + 1;
    this.untimedValues = 0;
    this.clock.record(slot, started, now, values);
  }

  /**
   * The job in `slot` is over: the thread may go idle, and its word turns `Finished` (its ms
   * noted first, for the main thread). False if the main thread abandoned it meanwhile.
   */
  private close(slot: number, now: number, started: number): boolean {
    this.clock.taskStopped(now);
    this.contexts[slot] = undefined;
    this.clock.ran(slot, now - started);
    const states = this.states;
    // Compare-and-swap: the main thread may abandon the job (Aborted → Abandoned) at this very
    // moment; then the `Abandon` message on its way gets the only answer for this slot.
    for (;;) {
      const state = Atomics.load(states, slot);
      if (state === Slot.Abandoned) return false;
      if (Atomics.compareExchange(states, slot, state, Slot.Finished) === state) return true;
    }
  }

  private describe(error: unknown, key: number): WireError {
    return toWire(error, explainThrown(error, this.loader.definition(key)?.kind === 'inline'));
  }

  /** Runs one job; returns a promise only if it did not finish synchronously. */
  private execute(
    loaded: Loaded,
    slot: number,
    key: number,
    input: unknown,
    started: number,
  ): Promise<void> | undefined {
    const ctx = new JobContext(this, slot, started);
    return this.settled(this.call(loaded, ctx, slot, key, input), ctx, slot);
  }

  /** What running a task gave: a promise if it goes on; a generator refused ends its job here. */
  private settled(ran: Settled, ctx: SlotContext, slot: number): Promise<void> | undefined {
    if (ran !== refused) return ran;
    // run() and submit() take one value: the generator's body never starts.
    if (ctx.end()) this.outbox.refused(slot);
    return undefined;
  }

  /**
   * Calls the task on `input` and sends its outcome once `ctx` ends; returns a promise only if it did
   * not finish synchronously, or `refused` for a generator given to `run`/`submit` (its body has not started).
   */
  private call(loaded: Loaded, ctx: SlotContext, slot: number, key: number, input: unknown): Settled {
    const outbox = this.outbox;
    this.contexts[slot] = ctx;
    if (loaded.error !== undefined) {
      if (ctx.end()) outbox.threw(slot, toWire(loaded.error));
      return undefined;
    }
    let result: unknown;
    try {
      result = loaded.fn(input, ctx);
    } catch (error) {
      if (ctx.end()) outbox.threw(slot, this.describe(error, key));
      return undefined;
    }
    // A primitive is neither a generator nor a thenable (promises ignore a primitive's `then`).
    if (typeof result !== 'object' && typeof result !== 'function') {
      if (ctx.end()) outbox.ok(slot, result);
      return undefined;
    }
    return this.settleObject(result, ctx, slot, key);
  }

  /**
   * The rest of `call`, for an object (or null): a generator, a thenable or any other. Apart because
   * it makes closures: V8 allocates a function's closure scope on every call that it does not
   * inline, even down a path that makes none, and `call` runs once per value (80 bytes a value).
   */
  private settleObject(result: object | null, ctx: SlotContext, slot: number, key: number): Settled {
    const outbox = this.outbox;
    if (isGenerator(result)) {
      if (this.ints[slot * slotInts + SlotInt.Streams] === 0) return refused;
      const describe = (error: unknown) => this.describe(error, key);
      return driveStream(result, { slot, ctx, ints: this.ints, times: this.clock.times, outbox, describe });
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      return Promise.resolve(result).then(
        (value) => {
          if (ctx.end()) outbox.ok(slot, value);
        },
        (error: unknown) => {
          if (ctx.end()) outbox.threw(slot, this.describe(error, key));
        },
      );
    }
    if (ctx.end()) outbox.ok(slot, result);
    return undefined;
  }
}
