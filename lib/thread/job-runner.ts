import { TimeoutError } from '../util/errors';
import { record, toMicros } from '../util/histogram';
import { toWire, type WireError } from '../wire/errors';
import type { ThreadInit } from '../wire/thread';
import { Slot, SlotInt, SlotTime, slotInts, slotTimes, ThreadTime, threadTimes } from '../wire/words';
import { explainThrown } from './inline-scope';
import { type ContextRunner, JobContext, type SlotContext, type ValueContext } from './job-context';
import type { Loaded, TaskLoader } from './loader';
import type { Outbox } from './outbox';
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
  private readonly times: Float64Array;
  private readonly busyAt: number;
  private readonly recording: Int32Array;
  private readonly runHistogram: Float64Array;
  private readonly waitHistogram: Float64Array;
  /** Fixed for the thread's life; read once (the getter is not free at millions of jobs). */
  private readonly timeOrigin = performance.timeOrigin;
  /** Tasks running now: the thread is busy while there is at least one. */
  private running = 0;
  /** The context of the job running in each slot, so a `cancel` message can fire its signal. */
  private readonly contexts: (SlotContext | undefined)[] = [];
  /** How long the last job (or value, or group of values, of a job of several) took (ms). */
  lastJobMs = 0;
  /** How many values that was. */
  lastValues = 1;
  /** When it ended (performance.now()). */
  lastEnd = 0;
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
    this.times = new Float64Array(init.times);
    this.busyAt = this.times.length - threadTimes;
    this.recording = new Int32Array(init.recording);
    this.runHistogram = new Float64Array(init.runTime);
    this.waitHistogram = new Float64Array(init.waitTime);
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
    this.times[slot * slotTimes + SlotTime.StartedAt] = this.timeOrigin + started;
    // The main thread may have cancelled or revoked the job while it waited here: whoever swaps
    // the slot first decides, so a cancelled job can never start.
    if (Atomics.compareExchange(this.states, slot, Slot.Pending, Slot.Started) !== Slot.Pending) {
      this.outbox.skipped(slot);
      return false;
    }
    if (this.running++ === 0) this.times[this.busyAt + ThreadTime.BusySince] = this.timeOrigin + started;
    // The main thread waits for this start to time the job out.
    if (this.ints[slot * slotInts + SlotInt.Watched] !== 0) Atomics.notify(this.states, slot);
    return true;
  }

  /**
   * Runs value `index` of the job of several values in `slot`, with its context; the job's last
   * value ends the job. Returns a promise only if it did not finish synchronously.
   */
  runValue(
    loaded: Loaded,
    ctx: ValueContext,
    slot: number,
    key: number,
    input: unknown,
    index: number,
  ): Promise<void> | undefined {
    // Noted before the value starts: if the thread is lost, the values after it go again and it does not.
    Atomics.store(this.ints, slot * slotInts + SlotInt.Progress, index);
    const ran = this.call(loaded, ctx, slot, key, input);
    if (ran !== refused) return ran;
    // run() calls take one value: the generator's body never starts.
    if (ctx.end()) this.outbox.refused(slot);
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
    this.record(slot, groupStarted, now < 0 ? performance.now() : now, values);
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

  /** A task stopped running (it ended, or was abandoned): the thread goes idle with its last one. */
  notRunning(now: number): void {
    if (--this.running > 0) return;
    const { times, busyAt } = this;
    const since = times[busyAt + ThreadTime.BusySince]!;
    times[busyAt + ThreadTime.BusyTotal] = times[busyAt + ThreadTime.BusyTotal]! + this.timeOrigin + now - since;
    times[busyAt + ThreadTime.BusySince] = -1;
  }

  /**
   * The job in `slot` ended at `now` (see {@link JobContext.end}): frees its slot and records its
   * times. False if the main thread has just abandoned it: then its outcome must not be sent.
   */
  finish(slot: number, started: number, now: number): boolean {
    if (!this.close(slot, now, started)) return false;
    this.record(slot, started, now);
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
    this.record(slot, started, now, values);
  }

  /**
   * The job in `slot` is over: the thread may go idle, and its word turns `Finished` (its ms
   * noted first, for the main thread). False if the main thread abandoned it meanwhile.
   */
  private close(slot: number, now: number, started: number): boolean {
    this.notRunning(now);
    this.contexts[slot] = undefined;
    this.times[slot * slotTimes + SlotTime.RanMs] = now - started;
    const states = this.states;
    // Compare-and-swap: the main thread may abandon the job (Aborted → Abandoned) at this very
    // moment; then the `Abandon` message on its way gets the only answer for this slot.
    for (;;) {
      const state = Atomics.load(states, slot);
      if (state === Slot.Abandoned) return false;
      if (Atomics.compareExchange(states, slot, state, Slot.Finished) === state) return true;
    }
  }

  /**
   * Records the run of `values` values (a job, or a group of a job of several) from `started` to
   * `now`, and how long they waited: a group as if each value were timed (docs/design.md#metrics).
   */
  private record(slot: number, started: number, now: number, values = 1): void {
    const ms = now - started;
    this.lastJobMs = ms;
    this.lastValues = values;
    this.lastEnd = now;
    if (this.recording[0] !== 0) {
      const micros = toMicros(ms);
      if (values === 1 || micros <= 1) {
        record(this.runHistogram, micros, values);
      } else {
        // Longer together: one of them was slow (or a collection ran, or the thread was descheduled).
        record(this.runHistogram, 1, values - 1);
        record(this.runHistogram, micros);
      }
      // Read before the outcome goes out: until then the slot (and its submission time) is this job's.
      const submittedAt = this.times[slot * slotTimes + SlotTime.SubmittedAt]!;
      record(this.waitHistogram, toMicros(this.timeOrigin + started - submittedAt), values);
    }
    this.outbox.busyMs += ms;
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
    const ran = this.call(loaded, ctx, slot, key, input);
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
      return driveStream(result, { slot, ctx, ints: this.ints, times: this.times, outbox, describe });
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
