/**
 * Scale-out over BullMQ (Redis): a `RemotePool` that the operators take as their `pool`, the
 * `remoteTask`s it runs by name, and `serveTasks` for the worker processes. Needs the optional
 * peer dependencies `bullmq` and `ioredis`. See docs/remote.md.
 *
 * @example
 * ```ts
 * import { RemotePool, remoteTask } from 'rxthreads/remote';
 * const remote = new RemotePool({ queue: 'thumbs', connection: 'redis://127.0.0.1:6379' });
 * files$.pipe(offloadToThread(remoteTask<string, Thumb>('thumbnail'), { pool: remote }));
 * ```
 */

export { RemotePool, type RemotePoolOptions, type RemotePoolStats } from './lib/remote/client/pool';
export { type RemoteTarget, remoteTask } from './lib/remote/client/task';
export type { RedisConnection } from './lib/remote/connection';
export { RemoteConnectionError } from './lib/remote/errors';
export { type ServeTasksOptions, serveTasks, TaskServer, type TaskServerStats } from './lib/remote/server/serve';
