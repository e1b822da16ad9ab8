import type { OperatorFunction } from 'rxjs';
import { EventLoopThread } from '../lib/owners/loop-thread';
import { threadEngineOf } from '../lib/owners/owner';
import {
  type StreamControlOptions,
  streamControl,
  streamControlTable,
  streamShapeTable,
} from '../lib/stream/offload-options';
import type { Settled } from '../lib/stream/settle';
import { threadMap } from '../lib/stream/stream';
import type { Transferable } from '../lib/task/context';
import { definitionOf } from '../lib/task/definition';
import { type Emitted, type TaskLike, toTask } from '../lib/task/task';
import { callerSite } from '../lib/util/caller-site';
import { checkOptions, type OptionTable, optionError } from '../lib/util/options';

/**
 * Options of {@link runOnLoop}.
 *
 * @example
 * ```ts
 * urls$.pipe(runOnLoop(loop, fetchTask, { concurrency: 8, ordered: false }));
 * ```
 */
export interface RunOnLoopOptions<I> extends StreamControlOptions {
  /** Tasks of this subscription running on the loop at once. @default Infinity */
  concurrency?: number;
  /** Emit in source order (`true`) or completion order (`false`). @default true */
  ordered?: boolean;
  /** The buffers of an input to move to the thread rather than copy. */
  transfer?: (input: I) => Transferable[];
}

/** The options `runOnLoop` accepts: extend this list with each new option. */
const runOnLoopTable: OptionTable<RunOnLoopOptions<unknown>> = { ...streamShapeTable, ...streamControlTable };

/**
 * Runs a task on an {@link EventLoopThread} for each source value, many at once, interleaved on
 * that thread's loop, like `run_coroutine_threadsafe` for a stream.
 *
 * @example
 * ```ts
 * const loop = new EventLoopThread();
 * urls$.pipe(runOnLoop(loop, moduleTask<string, number>('/abs/fetch-size.js'), { concurrency: 16 }));
 * ```
 */
export function runOnLoop<I, O>(
  loop: EventLoopThread,
  task: TaskLike<I, O>,
  options: RunOnLoopOptions<I> & { settle: true },
): OperatorFunction<I, Settled<I, Emitted<O>>>;
export function runOnLoop<I, O>(
  loop: EventLoopThread,
  task: TaskLike<I, O>,
  options?: RunOnLoopOptions<I> & { settle?: false },
): OperatorFunction<I, Emitted<O>>;
export function runOnLoop<I, O>(
  loop: EventLoopThread,
  task: TaskLike<I, O>,
  options?: RunOnLoopOptions<I>,
): OperatorFunction<I, Emitted<O> | Settled<I, Emitted<O>>>;
export function runOnLoop<I, O>(
  loop: EventLoopThread,
  task: TaskLike<I, O>,
  options: RunOnLoopOptions<I> = {},
): OperatorFunction<I, Emitted<O> | Settled<I, Emitted<O>>> {
  if (!(loop instanceof EventLoopThread)) throw optionError('loop', 'an EventLoopThread', loop);
  checkOptions('runOnLoop', runOnLoopTable, options);
  const control = streamControl(options);
  const engine = threadEngineOf(loop);
  engine.checkTask(definitionOf(toTask(task)));
  // A TaskError the stream errors with names the frames of this call.
  return threadMap<I, Emitted<O> | Settled<I, Emitted<O>>>(
    toTask(task),
    () => ({ engine, release: (_outcome, then) => then() }),
    {
      concurrency: options.concurrency ?? Number.POSITIVE_INFINITY,
      ordered: options.ordered ?? true,
      transfer: options.transfer,
      limitBy: 'jobs',
      ...control,
    },
    callerSite(),
  );
}
