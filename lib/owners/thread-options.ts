import type { ResourceLimits } from 'node:worker_threads';
import { ThreadEngine } from '../engine/engine';
import { checkSpawnOptions, slotsPerThread } from '../engine/local/platform';
import { checkResourceLimits } from '../engine/local/resource-limits';
import { type WorkerSpawnOptions, workerSpawnOptions } from '../engine/local/worker-options';
import type { EngineOptions } from '../engine/options';
import { is, type OptionCheck, type OptionTable } from '../util/options';

/** What every owner of local threads (a pool, a loop thread) takes. */
export interface ThreadOwnerOptions extends WorkerSpawnOptions {
  name?: string;
  resourceLimits?: ResourceLimits;
  cancelGraceMs?: number;
  closeGraceMs?: number;
}

/** The option table shared by `ThreadPool` and `EventLoopThread`. */
export const threadOwnerTable: OptionTable<ThreadOwnerOptions> = {
  name: is.string,
  cancelGraceMs: is.delay,
  closeGraceMs: is.delay,
  resourceLimits: ((_, value) => checkResourceLimits(value)) as OptionCheck,
  // Checked together (and as the platform will) when the engine is made: workerSpawnOptions, checkSpawnOptions.
  env: is.checkedElsewhere,
  execArgv: is.checkedElsewhere,
  argv: is.checkedElsewhere,
};

/** The engine of an owner of local threads, from its checked options and the shape of its threads. */
export function threadEngine(
  options: ThreadOwnerOptions,
  shape: Pick<EngineOptions, 'size' | 'mode' | 'slotCount' | 'replaceCrashed'>,
  kind: 'ThreadPool' | 'EventLoopThread',
): ThreadEngine {
  return new ThreadEngine({
    ...shape,
    slotCount: slotsPerThread(shape.slotCount, shape.mode),
    owner: options.name === undefined ? kind : `${kind} "${options.name}"`,
    cancelGraceMs: options.cancelGraceMs ?? 100,
    closeGraceMs: options.closeGraceMs ?? 5000,
    resourceLimits: options.resourceLimits,
    name: options.name,
    worker: checkSpawnOptions(workerSpawnOptions(options), options.resourceLimits),
  });
}
