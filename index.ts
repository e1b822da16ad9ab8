export type { WorkerSpawnOptions } from './lib/engine/local/worker-options';
export type { TimeSummary } from './lib/engine/metrics';
export { EventLoopThread, type EventLoopThreadOptions } from './lib/owners/loop-thread';
export { defaultPool, ThreadPool, type ThreadPoolOptions, type ThreadPoolStats } from './lib/owners/pool';
export type { SubmitOptions } from './lib/owners/submit';
export type { StreamControlOptions } from './lib/stream/offload-options';
export type { Settled, SettledFulfilled, SettledRejected } from './lib/stream/settle';
export type { TaskContext, Transferable } from './lib/task/context';
export type { TaskFunction } from './lib/task/definition';
export { inlineTask } from './lib/task/inline';
export { moduleTask } from './lib/task/module';
export type { Emitted, Task, TaskLike } from './lib/task/task';
export {
  AbortError,
  ClosedError,
  QueueFullError,
  SerializationError,
  TaskError,
  TimeoutError,
  WorkerCrashedError,
} from './lib/util/errors';
export { type InThreadOptions, inThread } from './operators/inThread';
export { type OffloadFromOptions, offloadFrom } from './operators/offloadFrom';
export { type OffloadOptions, offloadToThread } from './operators/offloadToThread';
export { type RunOnLoopOptions, runOnLoop } from './operators/runOnLoop';
