import { optionError } from '../util/options';
import { definition, type Task, type TaskFunction } from './definition';
import { inlineTask } from './inline';

export type { Task, TaskFunction } from './definition';

/**
 * What an operator emits for a task whose function returns `O`: each yielded value for a streaming
 * task (a generator or async generator function), the value itself otherwise.
 *
 * @example
 * ```ts
 * type Lines = Emitted<AsyncGenerator<string>>; // string
 * type Size = Emitted<number>; // number
 * ```
 */
export type Emitted<O> =
  O extends Generator<infer Y, unknown, never> ? Y : O extends AsyncGenerator<infer Y, unknown, never> ? Y : O;

/**
 * A {@link Task}, or a plain self-contained function that is treated as `inlineTask(fn)`.
 *
 * @example
 * ```ts
 * const either: TaskLike<number, number> = Math.random() > 0.5 ? (x) => x + 1 : moduleTask('/abs/inc.js');
 * ```
 */
export type TaskLike<I, O> = Task<I, O> | TaskFunction<I, O>;

/** Accepts a task or a plain function, as every public API does. */
export function toTask<I, O>(task: TaskLike<I, O>): Task<I, O> {
  if (typeof task === 'function') return inlineTask(task);
  if (typeof task === 'object' && task !== null && definition in task) return task;
  throw optionError('task', 'a Task or a function', task);
}
