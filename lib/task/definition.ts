import type { TaskContext } from './context';

/**
 * What a thread needs to find a task: a module's export, an inline function's source, or a name
 * that only a remote worker can resolve (`remoteTask`). Crosses to threads as data.
 */
export type TaskDefinition =
  | {
      readonly key: number;
      readonly kind: 'module';
      readonly path: string;
      readonly exportName: string;
      /** The name it was given, when that file is missing and `path` is the one next to it (x.js → x.ts). */
      readonly asked?: string | undefined;
      /** Where `moduleTask` was called, when no file was found. */
      readonly from?: string | undefined;
    }
  | { readonly key: number; readonly kind: 'inline'; readonly source: string }
  | { readonly key: number; readonly kind: 'named'; readonly name: string };

/**
 * A function that runs inside a thread: `fn(input, ctx)`, returning a value or a promise.
 *
 * @example
 * ```ts
 * const double: TaskFunction<number, number> = (x) => x * 2;
 * ```
 */
export type TaskFunction<I, O> = (input: I, ctx: TaskContext) => O | Promise<O>;

export const definition = Symbol('rxthreads.task');

/**
 * Names work that a thread can run: made by {@link moduleTask} or {@link inlineTask}.
 *
 * @example
 * ```ts
 * const hash: Task<Buffer, string> = moduleTask(require.resolve('./hash'), 'sha256');
 * ```
 */
export interface Task<I, O> {
  readonly [definition]: TaskDefinition;
  /** Carries the input and output types; never set. */
  readonly __types?: (input: I) => O;
}

// One key per distinct definition, so a thread compiles or loads each task once and a batch
// names its task by a number rather than by source text.
let nextKey = 1;
const byIdentity = new Map<string, Task<unknown, unknown>>();

export function intern<I, O>(identity: string, make: (key: number) => TaskDefinition): Task<I, O> {
  let task = byIdentity.get(identity);
  if (task === undefined) {
    task = Object.freeze({ [definition]: make(nextKey++) });
    byIdentity.set(identity, task as Task<unknown, unknown>);
  }
  return task as Task<I, O>;
}

export function definitionOf<I, O>(task: Task<I, O>): TaskDefinition {
  return task[definition];
}
