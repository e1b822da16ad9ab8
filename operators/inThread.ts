import { Observable, type OperatorFunction } from 'rxjs';
import { StageRun } from '../lib/owners/stage';
import type { Transferable } from '../lib/task/context';
import { definitionOf } from '../lib/task/definition';
import { checkRunsFromCode } from '../lib/task/named';
import { type Task, type TaskLike, toTask } from '../lib/task/task';
import { checkOptions, is, type OptionTable } from '../lib/util/options';

/**
 * Options of {@link inThread}.
 *
 * @example
 * ```ts
 * source$.pipe(inThread(stage, { bufferSize: 256, overflow: 'error' }));
 * ```
 */
export interface InThreadOptions<I> {
  /**
   * Source values that may be in flight: sent or batched to the stage's thread, not yet handed to
   * the stage there. What the source emits beyond that is handled as `overflow` says.
   * @default 1024
   */
  bufferSize?: number;
  /**
   * What a source value that finds `bufferSize` values in flight does.
   * - `'buffer'`: it waits on the caller's side, in order, and goes once the stage has taken more
   *   (as RxJS operators such as `concatMap` buffer); the caller's event loop never waits.
   * - `'error'`: the stream fails with `QueueFullError`.
   * - `'block'`: **pauses the caller's event loop** (`Atomics.wait`) until the stage has taken
   *   more, emitting its outputs meanwhile; this bounds memory even for a synchronous source. It
   *   never waits on a stage that has not started yet (values wait as with `'buffer'`), and a
   *   thread that dies ends the wait with `WorkerCrashedError`.
   * @default 'buffer'
   */
  overflow?: 'buffer' | 'block' | 'error';
  /** The buffers of a source value to move to the stage's thread rather than copy. */
  transfer?: (input: I) => Transferable[];
  /**
   * Once the stage has completed or errored, how long (ms) its thread has to end by itself (its
   * `onThreadClose` callbacks, then its event loop drains) before it is terminated. After an
   * unsubscribe the thread has at most 1000 ms, whatever this says.
   * @default 5000
   */
  closeGraceMs?: number;
}

const inThreadTable: OptionTable<InThreadOptions<unknown>> = {
  bufferSize: is.positiveInteger,
  overflow: is.oneOf('buffer', 'block', 'error'),
  transfer: is.function,
  closeGraceMs: is.delay,
};

/**
 * Runs a whole RxJS stage inside a thread of its own, one per subscription: the stage receives the
 * source as `input$` (values, completion and error) and whatever it emits comes back, in order.
 * Stateful operators (`scan`, `distinct`, windows, buffers) keep their state in that thread for the
 * whole subscription. Unsubscribing unsubscribes the stage in its thread, so its teardown runs
 * there; `complete` and `error` go out only after the thread has exited. The caller's event loop
 * never waits for the stage unless you opt in with `overflow: 'block'`. See docs/inThread.md.
 *
 * @param stage A module export `(input$: Observable<I>, ctx: TaskContext) => Observable<O>`
 *   (`moduleTask`); it may also return a promise of the Observable. A plain function is accepted
 *   as an inline task if it is self-contained: it gets rxjs with `await import('rxjs')`.
 * @param options Values in flight, overflow, transfers, close grace: {@link InThreadOptions}.
 * @example
 * ```ts
 * // stages.cjs: exports.runningTotal = (input$) => input$.pipe(scan((sum, x) => sum + x, 0));
 * range(1, 5)
 *   .pipe(inThread(moduleTask(require.resolve('./stages.cjs'), 'runningTotal')))
 *   .subscribe(console.log); // 1 3 6 10 15
 * ```
 */
export function inThread<I, O>(
  // An untyped `moduleTask(path)` is a Task<unknown, unknown>: accepted, with outputs typed `unknown`.
  stage: TaskLike<Observable<I>, Observable<O>> | Task<unknown, unknown>,
  options: InThreadOptions<I> = {},
): OperatorFunction<I, O> {
  const def = definitionOf(toTask(stage as TaskLike<Observable<I>, Observable<O>>));
  checkRunsFromCode(def);
  checkOptions('inThread', inThreadTable, options);
  const stageOptions = {
    bufferSize: options.bufferSize ?? 1024,
    overflow: options.overflow ?? 'buffer',
    transfer: options.transfer,
    closeGraceMs: options.closeGraceMs ?? 5000,
  } as const;
  return (source) =>
    new Observable<O>((subscriber) => {
      // A subscriber already closed (as in a `combineLatest` whose first source errored
      // synchronously) would never unsubscribe: start no thread, and never subscribe to the source.
      if (subscriber.closed) return;
      const run = new StageRun<I>(def, subscriber, stageOptions);
      // Before subscribing to the source: a synchronous source that is still emitting must stop
      // when a downstream take(n) unsubscribes.
      subscriber.add(() => run.unsubscribe());
      run.start(source);
    });
}
