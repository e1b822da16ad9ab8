import { creationPlace } from '../util/caller-site';
import { optionError } from '../util/options';
import type { TaskFunction } from './definition';
import { intern, type Task } from './definition';

// Tasks by function, so that one function passed again and again is looked at once.
const byFunction = new WeakMap<Function, Task<unknown, unknown>>();

/**
 * A task from a self-contained function, sent to the thread as source text. It may use its
 * parameters and globals only: one that reads an outer variable fails with a `TaskError` that
 * names the missing identifier.
 *
 * @example
 * ```ts
 * const square = inlineTask((x: number) => x * x);
 * ```
 */
export function inlineTask<I, O>(fn: TaskFunction<I, O>): Task<I, O> {
  if (typeof fn !== 'function') throw optionError('task', 'a function', fn);
  const known = byFunction.get(fn);
  if (known !== undefined) return known as Task<I, O>;
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `Expected \`task\` to be a function with source text, got native or bound function \`${fn.name}\``,
    );
  }
  if (/^class[\s{]/.test(source)) {
    throw optionError('task', 'a function, not a class', fn.name);
  }
  const task = intern<I, O>(`inline\0${source}`, (key) => {
    // Named after where it was created, so that stack frames inside the thread say where it came from.
    const place = creationPlace();
    return {
      key,
      kind: 'inline',
      source: place === undefined ? source : `${source}\n//# sourceURL=inline-task(${place})`,
    };
  });
  byFunction.set(fn, task as Task<unknown, unknown>);
  return task;
}
