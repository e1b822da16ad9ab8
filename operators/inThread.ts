import { Observable, type OperatorFunction } from 'rxjs';
import type { Transferable } from '../lib/context';
import { StageRun } from '../lib/stage';
import { definitionOf, type Task, type TaskLike, toTask } from '../lib/task';
import { checkInteger, checkKnownKeys, checkObject, checkType, optionError, optionKeys } from '../lib/validate';

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
   * Source values that may wait for the stage: sent or batched, not yet handed to it in its thread.
   * @default 1024
   */
  bufferSize?: number;
  /**
   * What a source value that finds `bufferSize` values waiting does. `'block'` holds the source:
   * the caller's thread waits (`Atomics.wait`) until the stage has taken more, emitting the stage's
   * outputs meanwhile; this bounds memory even for a synchronous source. `'error'` fails the stream
   * with `QueueFullError`, for a caller whose event loop must never wait.
   * @default 'block'
   */
  overflow?: 'block' | 'error';
  /** The buffers of a source value to move to the stage's thread rather than copy. */
  transfer?: (input: I) => Transferable[];
}

/** The options `inThread` accepts: extend this list with each new option. */
const inThreadOptionKeys = optionKeys<InThreadOptions<unknown>>()('bufferSize', 'overflow', 'transfer');

/**
 * Runs a whole RxJS stage inside a thread of its own, one per subscription: the stage receives the
 * source as `input$` (values, completion and error) and whatever it emits comes back, in order.
 * Stateful operators (`scan`, `distinct`, windows, buffers) keep their state in that thread for the
 * whole subscription. Unsubscribing unsubscribes the stage in its thread, so its teardown runs
 * there; `complete` and `error` go out only after the thread has exited. See docs/inThread.md.
 *
 * @param stage A module export `(input$: Observable<I>, ctx: TaskContext) => Observable<O>`
 *   (`moduleTask`); it may also return a promise of the Observable. A plain function is accepted
 *   as an inline task if it is self-contained: it gets rxjs with `await import('rxjs')`.
 * @param options Backlog bound and transfers: {@link InThreadOptions}.
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
  checkObject('options', options);
  checkKnownKeys('inThread', options, inThreadOptionKeys);
  checkInteger('bufferSize', options.bufferSize, 1);
  if (options.overflow !== undefined && options.overflow !== 'block' && options.overflow !== 'error') {
    throw optionError('overflow', "'block' or 'error'", options.overflow);
  }
  checkType('transfer', options.transfer, 'function');
  const stageOptions = {
    bufferSize: options.bufferSize ?? 1024,
    overflow: options.overflow ?? 'block',
    transfer: options.transfer,
  } as const;
  return (source) =>
    new Observable<O>((subscriber) => {
      const run = new StageRun<I>(def, subscriber, stageOptions);
      // Before subscribing to the source: a synchronous source that is still emitting must stop
      // when a downstream take(n) unsubscribes.
      subscriber.add(() => run.unsubscribe());
      run.start(source);
    });
}
