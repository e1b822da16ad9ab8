import type { Subscriber } from 'rxjs';
import type { Engine, JobHandle as Job, StreamSpecHandle } from '../engine/port';
import { streamEnded } from '../engine/port';
import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';
import { type CallerSite, withCallerSite } from '../util/caller-site';
import type { EndingKind } from '../util/ending';
import { absent, Reorder } from './reorder';
import { isPerInputError } from './settle';

export interface StreamOptions<I> {
  /** Tasks of one subscription running at once. */
  readonly concurrency: number;
  readonly ordered: boolean;
  readonly transfer: ((input: I) => Transferable[]) | undefined;
  /** Whether the engine limits concurrency by threads (a pool) or by jobs in flight (a loop). */
  readonly limitBy: 'threads' | 'jobs';
  /** Aborting it ends the stream with an `AbortError`. */
  readonly signal: AbortSignal | undefined;
  /** Emit a `Settled` entry per input instead of failing on one input's error. */
  readonly settle: boolean;
  /** Ms one task may run on its thread; 0 for none. */
  readonly timeout: number;
}

/** Where a subscription's jobs run, and what to do with those threads when it ends. */
export interface Placement {
  readonly engine: Engine;
  /** Called once when the subscription ends; calls `then` once the threads it owns have exited. */
  release(outcome: EndingKind, then: () => void): void;
}

/** What feeds a running stream its values: an Observable subscription or an iterator being read. */
export interface Feeder<I> {
  start(run: Run<I>): void;
  /** Stop reading the source (called once, when the stream ends). */
  stop(): void;
  /** A result was emitted: a pull source may read more. */
  emitted?(): void;
}

/**
 * One subscription's worth of work: each value becomes one job; results are emitted in source
 * order (or completion order); an error or unsubscribe cancels every job of the subscription;
 * completion waits for every result and for the threads the subscription owns.
 */
export class Run<I> implements StreamSpecHandle {
  private ended = false;
  private sourceDone = false;
  private index = 0;
  private nextToEmit = 0;
  /** Inputs whose every output has been emitted. */
  private inputsDone = 0;
  /** Ordered: single results that overtook an earlier input. */
  private readonly early = new Reorder();
  /** Ordered: outputs of streaming inputs that are not the next to emit. */
  private readonly held = new Map<number, Held>();
  private readonly group;

  /** Ms one task may run on its thread (the stream's spec, for the engine). */
  readonly timeout: number;

  constructor(
    private readonly subscriber: Subscriber<unknown>,
    private readonly placement: Placement,
    readonly def: TaskDefinition,
    private readonly options: StreamOptions<I>,
    /** Where the operator was created: a `TaskError` the stream errors with names it. */
    private readonly site: CallerSite,
    private readonly feeder: Feeder<I>,
  ) {
    const { engine } = placement;
    this.timeout = options.timeout;
    // The run is the spec every job of the stream shares: its `settle` finds a value's position in its tag.
    this.group =
      options.limitBy === 'threads'
        ? engine.openStream(options.concurrency, Number.POSITIVE_INFINITY, this)
        : engine.openStream(Number.POSITIVE_INFINITY, options.concurrency, this);
  }

  /** An input's outcome (the stream's spec, for the engine); `index`: which value of a job of several. */
  settle(error: Error | undefined, result: unknown, job: Job, index = 0): void {
    this.onResult(job.tag + index, error, result, inputOf(job, index) as I);
  }

  /**
   * Results of consecutive values of a job of several (the stream's spec, for the engine): a
   * message of a thread brings up to hundreds of a job's results together, and taking them in one
   * loop spares a call through the engine and this run per value.
   */
  settleRun(job: Job, index: number, results: ArrayLike<unknown>, from: number, to: number): number {
    // `at + i`: the position in the stream of the input whose result is `results[i]`.
    const at = job.tag + index - from;
    if (this.options.settle || this.held.size > 0) {
      for (let i = from; i < to; i++) {
        if (this.ended) return i - from;
        this.onResult(at + i, undefined, results[i], inputOf(job, index + i - from) as I);
      }
      return to - from;
    }
    const ordered = this.options.ordered;
    if (ordered && at + from !== this.nextToEmit) {
      // Overtook an earlier input: held, all of them, as nothing is emitted meanwhile.
      for (let i = from; i < to; i++) this.early.set(at + i, results[i], this.nextToEmit);
      return to - from;
    }
    for (let i = from; i < to; i++) {
      if (this.ended) return i - from;
      this.inputsDone++;
      if (ordered) this.nextToEmit++;
      this.emit(results[i]);
    }
    if (ordered) this.emitReady();
    if (this.ended) return to - from;
    if (this.sourceDone && this.pending === 0) this.end('complete');
    else this.feeder.emitted?.();
    return to - from;
  }

  /** Values a streaming task yielded for an input (the stream's spec, for the engine). */
  yielded(job: Job, values: unknown[], index = 0): void {
    this.onYield(job.tag + index, job, values, inputOf(job, index) as I);
  }

  start(): void {
    this.feeder.start(this);
  }

  /** Values taken from the source whose outputs are not all emitted yet. */
  get pending(): number {
    return this.index - this.inputsDone;
  }

  push(value: I): void {
    if (this.ended) return;
    let transferList: Transferable[] | undefined;
    if (this.options.transfer !== undefined) {
      try {
        transferList = this.options.transfer(value);
      } catch (error) {
        this.end('error', error);
        return;
      }
    }
    this.placement.engine.feed(this.group, value, transferList, this.index++);
  }

  complete(): void {
    this.sourceDone = true;
    if (this.pending === 0) this.end('complete');
  }

  end(outcome: EndingKind, error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.feeder.stop(); // an error stops reading the source at once
    } catch {
      // A source whose teardown (or iterator `return()`) throws must not stop the cancellation
      // below, nor reach the caller from inside a thread's message handler: the stream's own
      // outcome is already decided, as RxJS itself does with a teardown that throws after an error.
    }
    if (outcome !== 'complete') this.placement.engine.cancelGroup(this.group);
    this.early.clear();
    this.held.clear();
    this.placement.release(outcome, () => {
      if (outcome === 'complete') this.subscriber.complete();
      else if (outcome === 'error') this.subscriber.error(withCallerSite(error, this.site));
    });
  }

  /** A streaming task yielded values: emitted now if their input may emit, held otherwise. */
  private onYield(at: number, job: Job, values: unknown[], input: I): void {
    if (this.ended) return;
    const outputs = this.options.settle ? values.map((value) => ({ status: 'fulfilled', value, input })) : values;
    if (!this.options.ordered || at === this.nextToEmit) {
      this.emitAll(outputs);
      // Credit back only once emitted: a held stream stops its generator after a window of values.
      if (!this.ended) this.placement.engine.grant(job, values.length);
      return;
    }
    let held = this.held.get(at);
    if (held === undefined) {
      held = { outputs: [], done: false, job, yielded: 0 };
      this.held.set(at, held);
    }
    for (const output of outputs) held.outputs.push(output);
    held.yielded += values.length;
  }

  private onResult(at: number, error: Error | undefined, result: unknown, input: I): void {
    if (this.ended) return;
    // What the input emits as it ends: its result, a rejected entry, or nothing (a stream that ended).
    let last: unknown = result;
    if (error !== undefined) {
      if (!this.options.settle || !isPerInputError(error)) {
        this.end('error', error);
        return;
      }
      last = { status: 'rejected', reason: error, input };
    } else if (this.options.settle && result !== streamEnded) {
      last = { status: 'fulfilled', value: result, input };
    }
    if (!this.options.ordered) {
      this.inputsDone++;
      if (last !== streamEnded) this.emit(last);
    } else if (at !== this.nextToEmit) {
      const held = this.held.size > 0 ? this.held.get(at) : undefined;
      if (held !== undefined) {
        if (last !== streamEnded) held.outputs.push(last);
        held.done = true;
      } else if (last !== streamEnded) this.early.set(at, last, this.nextToEmit);
      else this.held.set(at, { outputs: [], done: true, job: undefined, yielded: 0 });
      return;
    } else {
      this.nextToEmit++;
      this.inputsDone++;
      if (last !== streamEnded) this.emit(last);
      this.emitReady();
    }
    if (this.ended) return;
    if (this.sourceDone && this.pending === 0) this.end('complete');
    else this.feeder.emitted?.();
  }

  /** Ordered: emits what the inputs after the one that just ended hold, up to one still running. */
  private emitReady(): void {
    while (!this.ended) {
      const at = this.nextToEmit;
      const value = this.early.take(at);
      if (value !== absent) {
        this.nextToEmit++;
        this.inputsDone++;
        this.emit(value);
        continue;
      }
      if (this.held.size === 0) return; // no streaming input is waiting: the common case
      const held = this.held.get(at);
      if (held === undefined) return;
      this.held.delete(at);
      if (held.done) {
        this.nextToEmit++;
        this.inputsDone++;
      }
      this.emitAll(held.outputs);
      if (held.job !== undefined && !this.ended) this.placement.engine.grant(held.job, held.yielded);
      if (!held.done) return; // now the input that emits; its next values go out as they come
    }
  }

  private emitAll(values: unknown[]): void {
    for (const value of values) {
      if (this.ended) return;
      this.emit(value);
    }
  }

  private emit(value: unknown): void {
    this.subscriber.next(value);
  }
}

/** Input `index` of a job (of several values, or its only one). */
function inputOf(job: Job, index: number): unknown {
  return job.values ? (job.input as ArrayLike<unknown> | undefined)?.[index] : job.input;
}

/** What an ordered run holds for a streaming input that may not emit yet. */
interface Held {
  readonly outputs: unknown[];
  /** The input has ended: `outputs` is all it will emit. */
  done: boolean;
  readonly job: Job | undefined;
  /** Yielded values among `outputs`, to credit back once emitted. */
  yielded: number;
}
