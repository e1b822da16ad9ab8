import type { Task } from '../../task/definition';
import { namedTask } from '../../task/named';

export type { RemoteTarget } from '../../owners/owner';

/**
 * A task that a worker process runs by name: the worker's `serveTasks({ tasks })` map says which
 * code that name means. Runs only on a `RemotePool`; on a local pool it is a `TypeError`.
 *
 * @param name A key of the workers' `tasks` map.
 * @example
 * ```ts
 * files$.pipe(offloadToThread(remoteTask<string, Thumb>('thumbnail'), { pool: remote }));
 * ```
 */
export function remoteTask<I, O>(name: string): Task<I, O> {
  return namedTask<I, O>(name);
}
