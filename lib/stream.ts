import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import type { Transferable } from './context';
import type { Executor } from './executor';
import { definitionOf, type TaskLike, toTask } from './task';

export interface StreamOptions<I> {
  /** Tasks of one subscription running at once. */
  readonly concurrency: number;
  readonly ordered: boolean;
  readonly transfer: ((input: I) => Transferable[]) | undefined;
  /** Whether the executor limits concurrency by threads (a pool) or by jobs in flight (a loop). */
  readonly limitBy: 'threads' | 'jobs';
}

/** Where a subscription's jobs run, and what to do with those threads when it ends. */
export interface Placement {
  readonly executor: Executor;
  /**
   * Called once when the subscription ends (`error` is set if it failed, `null` if it was
   * unsubscribed); calls `then` once the threads the subscription owns have exited.
   */
  release(outcome: 'complete' | 'error' | 'unsubscribe', then: () => void): void;
}

/**
 * The engine of `offloadToThread` and `runOnLoop`: each source value becomes one job; results are
 * emitted in source order (or completion order); an error or unsubscribe cancels every job of the
 * subscription; completion waits for every result and for the threads the subscription owns.
 */
export function threadMap<I, O>(
  taskLike: TaskLike<I, O>,
  place: () => Placement,
  options: StreamOptions<I>,
): OperatorFunction<I, O> {
  const def = definitionOf(toTask(taskLike));
  const { concurrency, ordered, transfer, limitBy } = options;
  return (source) =>
    new Observable<O>((subscriber) => {
      const placement = place();
      const { executor } = placement;
      const group =
        limitBy === 'threads'
          ? executor.openGroup(concurrency, Number.POSITIVE_INFINITY)
          : executor.openGroup(Number.POSITIVE_INFINITY, concurrency);
      let ended = false;
      let sourceDone = false;
      let active = 0;
      let index = 0;
      let nextToEmit = 0;
      const early = new Map<number, O>(); // ordered results that overtook an earlier one
      let inner: Subscription | undefined;

      const end = (outcome: 'complete' | 'error' | 'unsubscribe', error?: unknown): void => {
        if (ended) return;
        ended = true;
        inner?.unsubscribe(); // an error stops reading the source at once
        if (outcome !== 'complete') executor.cancelGroup(group);
        early.clear();
        placement.release(outcome, () => {
          if (outcome === 'complete') subscriber.complete();
          else if (outcome === 'error') subscriber.error(error);
        });
      };

      const onResult = (at: number, error: Error | undefined, value: unknown): void => {
        active--;
        if (ended) return;
        if (error !== undefined) {
          end('error', error);
          return;
        }
        if (!ordered) subscriber.next(value as O);
        else if (at !== nextToEmit) early.set(at, value as O);
        else {
          nextToEmit++;
          subscriber.next(value as O);
          while (!ended && early.size > 0 && early.has(nextToEmit)) {
            const next = early.get(nextToEmit) as O;
            early.delete(nextToEmit++);
            subscriber.next(next);
          }
        }
        if (sourceDone && active === 0 && !ended) end('complete');
      };

      inner = source.subscribe({
        next(value) {
          if (ended) return;
          let transferList: Transferable[] | undefined;
          if (transfer !== undefined) {
            try {
              transferList = transfer(value);
            } catch (error) {
              end('error', error);
              return;
            }
          }
          const at = index++;
          active++;
          executor.submit(group, def, value, transferList, (error, result) => onResult(at, error, result));
        },
        error(error) {
          end('error', error);
        },
        complete() {
          sourceDone = true;
          if (active === 0) end('complete');
        },
      });

      if (ended) inner.unsubscribe(); // it failed while subscribing
      return () => end('unsubscribe');
    });
}
