import { Observable, type OperatorFunction, Subject, type Subscriber, takeUntil } from 'rxjs';
import type { Transferable } from './context';
import { AbortError } from './errors';
import type { Executor } from './executor';
import type { TaskDefinition } from './protocol';
import { isPerInputError } from './settle';
import { definitionOf, type TaskLike, toTask } from './task';

export interface StreamOptions<I> {
  /** Tasks of one subscription running at once. */
  readonly concurrency: number;
  readonly ordered: boolean;
  readonly transfer: ((input: I) => Transferable[]) | undefined;
  /** Whether the executor limits concurrency by threads (a pool) or by jobs in flight (a loop). */
  readonly limitBy: 'threads' | 'jobs';
  /** Aborting it ends the stream with an `AbortError`. */
  readonly signal: AbortSignal | undefined;
  /** Emit a `Settled` entry per input instead of failing on one input's error. */
  readonly settle: boolean;
  /** Ms one task may run on its thread; 0 for none. */
  readonly timeout: number;
}

/** The error a stream ends with when its `signal` aborts. */
export function abortedBy(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

type Outcome = 'complete' | 'error' | 'unsubscribe';

/** Where a subscription's jobs run, and what to do with those threads when it ends. */
export interface Placement {
  readonly executor: Executor;
  /** Called once when the subscription ends; calls `then` once the threads it owns have exited. */
  release(outcome: Outcome, then: () => void): void;
}

/** What feeds a running stream its values: an Observable subscription or an iterator being read. */
interface Feeder<I> {
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
class Run<I> {
  private ended = false;
  private sourceDone = false;
  private index = 0;
  private nextToEmit = 0;
  private emittedCount = 0;
  private readonly early = new Map<number, unknown>(); // ordered results that overtook an earlier one
  private readonly group;

  constructor(
    private readonly subscriber: Subscriber<unknown>,
    private readonly placement: Placement,
    private readonly def: TaskDefinition,
    private readonly options: StreamOptions<I>,
    private readonly feeder: Feeder<I>,
  ) {
    const { executor } = placement;
    this.group =
      options.limitBy === 'threads'
        ? executor.openGroup(options.concurrency, Number.POSITIVE_INFINITY)
        : executor.openGroup(Number.POSITIVE_INFINITY, options.concurrency);
  }

  start(): void {
    this.feeder.start(this);
  }

  /** Values taken from the source and not yet emitted. */
  get pending(): number {
    return this.index - this.emittedCount;
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
    const at = this.index++;
    this.placement.executor.submit(
      this.group,
      this.def,
      value,
      transferList,
      (error, result) => this.onResult(at, error, result, value),
      this.options.timeout,
    );
  }

  complete(): void {
    this.sourceDone = true;
    if (this.pending === 0) this.end('complete');
  }

  end(outcome: Outcome, error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.feeder.stop(); // an error stops reading the source at once
    if (outcome !== 'complete') this.placement.executor.cancelGroup(this.group);
    this.early.clear();
    this.placement.release(outcome, () => {
      if (outcome === 'complete') this.subscriber.complete();
      else if (outcome === 'error') this.subscriber.error(error);
    });
  }

  private onResult(at: number, error: Error | undefined, result: unknown, input: I): void {
    if (this.ended) return;
    let value = result;
    if (this.options.settle) {
      if (error === undefined) value = { status: 'fulfilled', value: result, input };
      else if (isPerInputError(error)) value = { status: 'rejected', reason: error, input };
      else {
        this.end('error', error);
        return;
      }
    } else if (error !== undefined) {
      this.end('error', error);
      return;
    }
    if (!this.options.ordered) this.emit(value);
    else if (at !== this.nextToEmit) this.early.set(at, value);
    else {
      this.nextToEmit++;
      this.emit(value);
      while (!this.ended && this.early.has(this.nextToEmit)) {
        const next = this.early.get(this.nextToEmit);
        this.early.delete(this.nextToEmit++);
        this.emit(next);
      }
    }
    if (this.ended) return;
    if (this.sourceDone && this.pending === 0) this.end('complete');
    else this.feeder.emitted?.();
  }

  private emit(value: unknown): void {
    this.emittedCount++;
    this.subscriber.next(value);
  }
}

function runStream<I, O>(
  taskLike: TaskLike<I, O>,
  place: () => Placement,
  options: StreamOptions<I>,
  feeder: () => Feeder<I>,
): Observable<O> {
  const def = definitionOf(toTask(taskLike));
  return new Observable<O>((subscriber) => {
    const { signal } = options;
    // Before any thread or source is touched: an aborted stream does no work at all.
    if (signal?.aborted) {
      subscriber.error(abortedBy(signal));
      return;
    }
    const run = new Run<I>(subscriber as Subscriber<unknown>, place(), def, options, feeder());
    // Registered before the source is read, so that a run ended in the middle of a synchronous
    // source's emission (a throwing transfer callback, a downstream unsubscribe) stops the source
    // right there rather than after its last value.
    subscriber.add(() => run.end('unsubscribe'));
    if (signal !== undefined) {
      const onAbort = () => run.end('error', abortedBy(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      subscriber.add(() => signal.removeEventListener('abort', onAbort));
    }
    run.start();
  });
}

/** The engine of `offloadToThread` and `runOnLoop`: an operator over an Observable source. */
export function threadMap<I, O>(
  taskLike: TaskLike<I, O>,
  place: () => Placement,
  options: StreamOptions<I>,
): OperatorFunction<I, O> {
  return (source) =>
    runStream(taskLike, place, options, () => {
      // takeUntil closes the source's subscriber, which a synchronous source checks between values.
      const stop$ = new Subject<void>();
      return {
        start(run) {
          source.pipe(takeUntil(stop$)).subscribe({
            next: (value) => run.push(value),
            error: (error) => run.end('error', error),
            complete: () => run.complete(),
          });
        },
        stop() {
          stop$.next();
          stop$.complete();
        },
      };
    });
}

/**
 * The engine of `offloadFrom`: reads an (async) iterable only while fewer than `highWaterMark`
 * of its values are taken and not yet emitted, so memory stays bounded however long the source.
 */
export function threadMapIterable<I, O>(
  iterable: Iterable<I> | AsyncIterable<I>,
  taskLike: TaskLike<I, O>,
  place: () => Placement,
  options: StreamOptions<I> & { readonly highWaterMark: number },
): Observable<O> {
  return runStream(taskLike, place, options, () => {
    let iterator: Iterator<I> | AsyncIterator<I> | undefined;
    let reading = false;
    let stopped = false;
    let run: Run<I>;
    let sync = false;
    const read = async (): Promise<void> => {
      if (reading || stopped) return;
      reading = true;
      try {
        while (!stopped && run.pending < options.highWaterMark) {
          // A synchronous iterator is read without a turn of the microtask queue per value, so a
          // whole window of values reaches the threads in one batch.
          const step = sync ? (iterator as Iterator<I>).next() : await iterator!.next();
          if (stopped) return;
          if (step.done) {
            stopped = true;
            run.complete();
            return;
          }
          run.push(step.value);
        }
      } catch (error) {
        run.end('error', error);
      } finally {
        reading = false;
      }
    };
    return {
      start(r) {
        run = r;
        try {
          sync = !(Symbol.asyncIterator in iterable);
          iterator = sync
            ? (iterable as Iterable<I>)[Symbol.iterator]()
            : (iterable as AsyncIterable<I>)[Symbol.asyncIterator]();
        } catch (error) {
          run.end('error', error);
          return;
        }
        void read();
      },
      stop() {
        const wasReading = !stopped;
        stopped = true;
        // Let the source clean up (close a file, a cursor), as a for-of loop that breaks would.
        if (wasReading) void Promise.resolve(iterator?.return?.()).catch(() => {});
      },
      emitted() {
        void read();
      },
    };
  });
}
