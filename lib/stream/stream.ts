import { Observable, type OperatorFunction, Subject, type Subscriber, takeUntil } from 'rxjs';
import { definitionOf } from '../task/definition';
import { type TaskLike, toTask } from '../task/task';
import type { CallerSite } from '../util/caller-site';
import { abortedBy } from '../util/errors';
import { watchSignal } from '../util/signal-watch';
import { type Feeder, type Placement, Run, type StreamOptions } from './run';

function runStream<I, O>(
  taskLike: TaskLike<I, unknown>,
  place: () => Placement,
  options: StreamOptions<I>,
  site: CallerSite,
  feeder: () => Feeder<I>,
): Observable<O> {
  const def = definitionOf(toTask(taskLike));
  return new Observable<O>((subscriber) => {
    // A subscriber already closed (its teardown ran, as in a `combineLatest` whose first source
    // errored synchronously) would never unsubscribe from the source: so never subscribe to it.
    if (subscriber.closed) return;
    const { signal } = options;
    // Before any thread or source is touched: an aborted stream does no work at all.
    if (signal?.aborted) {
      subscriber.error(abortedBy(signal));
      return;
    }
    const placement = place();
    const run = new Run<I>(subscriber as Subscriber<unknown>, placement, def, options, site, feeder());
    // Registered before the source is read, so that a run ended in the middle of a synchronous
    // source's emission (a throwing transfer callback, a downstream unsubscribe) stops the source
    // right there rather than after its last value.
    subscriber.add(() => run.end('unsubscribe'));
    if (signal !== undefined) {
      subscriber.add(watchSignal(placement.engine, signal, () => run.end('error', abortedBy(signal))));
    }
    run.start();
  });
}

/** The engine of `offloadToThread` and `runOnLoop`: an operator over an Observable source. */
export function threadMap<I, O>(
  taskLike: TaskLike<I, unknown>,
  place: () => Placement,
  options: StreamOptions<I>,
  site: CallerSite,
): OperatorFunction<I, O> {
  return (source) =>
    runStream(taskLike, place, options, site, () => {
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
 * `highWaterMark` comes apart from `options`: `{ ...options, highWaterMark }` would be an object of
 * a map of its own at every call once V8 optimizes the spread (Node 20), and the stream's reads of
 * its options, per value, would go megamorphic (docs/performance.md).
 */
export function threadMapIterable<I, O>(
  iterable: Iterable<I> | AsyncIterable<I>,
  taskLike: TaskLike<I, unknown>,
  place: () => Placement,
  options: StreamOptions<I>,
  highWaterMark: number,
  site: CallerSite,
): Observable<O> {
  return runStream(taskLike, place, options, site, () => {
    let iterator: Iterator<I> | AsyncIterator<I> | undefined;
    let reading = false;
    let stopped = false;
    let run: Run<I>;
    let sync = false;
    // Reading resumes once an eighth of the window is free, not at each emitted value: a value read
    // at a time costs a read (a promise) per value, and a chunk reaches the threads as one batch.
    const resumeAt = highWaterMark - Math.max(1, Math.floor(highWaterMark / 8));
    const read = async (): Promise<void> => {
      if (reading || stopped) return;
      reading = true;
      try {
        while (!stopped && run.pending < highWaterMark) {
          // A synchronous iterator is read without a turn of the microtask queue per value, so a
          // whole window of values reaches the threads in one batch.
          const step = sync ? (iterator as Iterator<I>).next() : await iterator!.next();
          if (stopped) return;
          if (typeof step !== 'object' || step === null) {
            throw new TypeError(`Iterator result ${String(step)} is not an object`);
          }
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
          // A string is iterable too (its characters), but `in` does not take a primitive.
          sync = typeof iterable === 'string' || !(Symbol.asyncIterator in iterable);
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
        if (!reading && !stopped && run.pending <= resumeAt) void read();
      },
    };
  });
}
