import type { ThreadEngine } from '../engine/engine';
import type { Group } from '../engine/job';
import type { Transferable } from '../task/context';
import { definitionOf } from '../task/definition';
import { type TaskLike, toTask } from '../task/task';
import { withAwaitingCaller } from '../util/caller-site';
import { abortedBy } from '../util/errors';
import { checkOptions, is, type OptionTable, optionError } from '../util/options';
import { watchSignal } from '../util/signal-watch';

/**
 * Options for one `run` or `submit` call.
 *
 * @example
 * ```ts
 * await pool.run(task, bytes, { signal: AbortSignal.timeout(1_000), transfer: [bytes.buffer] });
 * ```
 */
export interface SubmitOptions {
  /** Cancels the task: queued, it never starts; running, its `ctx.signal` fires. */
  signal?: AbortSignal;
  /** Buffers to move to the thread rather than copy. */
  transfer?: Transferable[];
  /**
   * Ms the task may run on its thread (time queued is not counted). Past it the task is cancelled
   * (its `ctx.signal` fires; one that ignores it has its thread replaced after `cancelGraceMs`) and
   * the promise rejects with `TimeoutError`.
   * @default no limit
   */
  timeout?: number;
}

const submitTable: OptionTable<SubmitOptions> = {
  signal: is.signal,
  transfer: (name, value) => {
    if (value !== undefined && !Array.isArray(value)) throw optionError(name, 'an array', value);
  },
  timeout: is.timeout,
};

export function checkSubmitOptions(options: SubmitOptions | undefined): void {
  checkOptions('run/submit', submitTable, options);
}

/** Runs one task on an engine as a promise, wired to an optional AbortSignal. */
export function submitJob<I, O>(
  engine: ThreadEngine,
  group: Group,
  task: TaskLike<I, O>,
  input: I,
  options: SubmitOptions | undefined,
): Promise<O> {
  const def = definitionOf(toTask(task));
  engine.checkTask(def);
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  const settled = new Promise<O>((resolve, reject) => {
    let unwatch: (() => void) | undefined;
    const settle = (error: Error | undefined, value: unknown) => {
      unwatch?.();
      if (error === undefined) resolve(value as O);
      else reject(error);
    };
    const spec = { def, settle, timeout: options?.timeout ?? 0, yielded: undefined };
    const job = engine.submit(group, spec, input, options?.transfer);
    if (signal !== undefined && !job.settled) {
      unwatch = watchSignal(engine, signal, () => engine.cancel(job, abortedBy(signal)));
    }
  });
  return withAwaitingCaller(settled);
}
