export type { TaskContext, Transferable } from './lib/context';
export {
  AbortError,
  ClosedError,
  QueueFullError,
  SerializationError,
  TaskError,
  TimeoutError,
  WorkerCrashedError,
} from './lib/errors';
export { EventLoopThread, type EventLoopThreadOptions } from './lib/loop-thread';
export type { TimeSummary } from './lib/metrics';
export type { StreamControlOptions } from './lib/offload-options';
export { defaultPool, ThreadPool, type ThreadPoolOptions, type ThreadPoolStats } from './lib/pool';
export type { Settled, SettledFulfilled, SettledRejected } from './lib/settle';
export type { SubmitOptions } from './lib/submit';
export { type Emitted, inlineTask, moduleTask, type Task, type TaskFunction, type TaskLike } from './lib/task';
export type { WorkerSpawnOptions } from './lib/worker-options';
export { type InThreadOptions, inThread } from './operators/inThread';
export { type OffloadFromOptions, offloadFrom } from './operators/offloadFrom';
export { type OffloadOptions, offloadToThread } from './operators/offloadToThread';
export { type RunOnLoopOptions, runOnLoop } from './operators/runOnLoop';
