import type { ThreadOwner } from '../owners/owner';
import { definitionOf, moduleTask, type Task, type TaskLike, toTask } from '../task/task';
import { optionError } from '../util/options';
import type { TaskDefinition } from '../wire/protocol';

// A remote task is carried as a module task on a path no file can have (it holds a NUL), with the
// task's name as its export: the task machinery stays unchanged, and a remote task that reached a
// local thread could only fail to load, never run code. The operators refuse that pairing first.
const remotePath = '/\0rxthreads-remote';

/**
 * What `offloadToThread` accepts as a remote `pool`: a `RemotePool` of `rxthreads/remote`.
 *
 * @example
 * ```ts
 * const target: RemoteTarget = new RemotePool({ queue: 'thumbs', connection: 'redis://127.0.0.1:6379' });
 * ```
 */
export interface RemoteTarget extends ThreadOwner {
  /** Jobs in flight per subscription when the operator's `concurrency` is not given. */
  readonly size: number;
}

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
  if (typeof name !== 'string' || name === '') throw optionError('name', 'a non-empty string', name);
  return moduleTask<I, O>(remotePath, name);
}

/** The name of a remote task, or `undefined` for a local one. */
export function remoteNameOf(def: TaskDefinition): string | undefined {
  return def.kind === 'module' && def.path === remotePath ? def.exportName : undefined;
}

/** True if `task` was made by {@link remoteTask}. */
export function isRemoteTask(task: TaskLike<unknown, unknown>): boolean {
  return typeof task !== 'function' && remoteNameOf(definitionOf(toTask(task))) !== undefined;
}

/** A remote task needs a remote pool, and a remote pool runs only remote tasks. */
export function checkRemotePairing(task: TaskLike<never, unknown>, remote: boolean): void {
  const named = isRemoteTask(task as TaskLike<unknown, unknown>);
  if (named && !remote) {
    throw new TypeError('Expected a RemotePool as `pool` for a remoteTask: a local pool runs only local tasks');
  }
  if (!named && remote) {
    throw optionError('task', "a remoteTask('name'): a RemotePool runs only tasks its workers name", task);
  }
}
