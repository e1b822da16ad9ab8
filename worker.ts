/**
 * Types and helpers for code that runs inside an rxthreads thread.
 *
 * @example
 * ```ts
 * import type { TaskContext } from 'rxthreads/worker';
 * export default async function fetchOne(url: string, ctx: TaskContext) {
 *   return (await fetch(url, { signal: ctx.signal })).status;
 * }
 * ```
 */
export type { TaskContext } from './lib/task/context';
export { onThreadClose } from './lib/thread/on-close';
export { AbortError } from './lib/util/errors';
