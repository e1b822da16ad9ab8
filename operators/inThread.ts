import { Observable, type OperatorFunction } from 'rxjs';
import type { Transferable } from '../lib/context';
import { StageRun } from '../lib/stage';
import { definitionOf, type TaskLike, toTask } from '../lib/task';
import { checkInteger, checkObject, checkType, optionError } from '../lib/validate';

/**
 * Options of {@link inThread}.
 *
 * @example
 * ```ts
 * source$.pipe(inThread(stage, { bufferSize: 256, overflow: 'error' }));
 * ```
 */
export interface InThreadOptions<I> {
  /** Source values that may wait for the stage's thread (sent, not yet taken by the stage). @default 1024 */
  bufferSize?: number;
  /**
   * When `bufferSize` values wait: `'block'` holds the source (the caller's thread waits for the
   * stage to catch up, emitting the stage's outputs meanwhile), `'error'` fails with `QueueFullError`.
   * @default 'block'
   */
  overflow?: 'block' | 'error';
  /** The buffers of a source value to move to the stage's thread rather than copy. */
  transfer?: (input: I) => Transferable[];
}

/**
 * Runs a whole RxJS stage inside a thread of its own: the stage receives the source as `input$`
 * and whatever it emits comes back. Stateful operators (`scan`, `distinct`, windows, buffers)
 * keep their state in that thread for the whole subscription. `complete` and `error` go out only
 * after the thread has exited; unsubscribing runs the stage's teardown in the thread.
 *
 * @param stage A module export `(input$: Observable<I>, ctx) => Observable<O>` (`moduleTask`), or
 *   a self-contained function that gets rxjs from `await import('rxjs')`.
 * @example
 * ```ts
 * // stage.cjs: exports.runningTotal = (input$) => input$.pipe(scan((sum, x) => sum + x, 0));
 * range(1, 100).pipe(inThread(moduleTask(require.resolve('./stage.cjs'), 'runningTotal')));
 * ```
 */
export function inThread<I, O>(
  stage: TaskLike<Observable<I>, Observable<O>>,
  options: InThreadOptions<I> = {},
): OperatorFunction<I, O> {
  const def = definitionOf(toTask(stage));
  checkObject('options', options);
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
      const subscription = source.subscribe({
        next: (value) => run.next(value),
        error: (error) => run.error(error),
        complete: () => run.complete(),
      });
      return () => {
        subscription.unsubscribe();
        run.unsubscribe();
      };
    });
}
