import type { ThreadEngine } from '../engine/engine';
import type { Group, JobSpec } from '../engine/job';
import type { Transferable } from '../task/context';
import { definitionOf, type TaskDefinition } from '../task/definition';
import { type TaskLike, toTask } from '../task/task';
import { withAwaitingCaller } from '../util/caller-site';
import { abortedBy } from '../util/errors';
import { checkOptions, is, type OptionTable, optionError } from '../util/options';
import { watchSignal } from '../util/signal-watch';
import { inputAtCall } from '../wire/clone';

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

/**
 * One `run()`/`submit()` call as the engine sees it: the job's spec, which settles its promise.
 * A class, so that the engine's calls to `settle` see one shape for every call.
 */
class Call<O> implements JobSpec {
  resolve!: (value: O) => void;
  reject!: (error: Error) => void;
  unwatch: (() => void) | undefined;
  readonly promise = new Promise<O>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });

  constructor(
    readonly def: TaskDefinition,
    readonly timeout: number,
    /** It has a signal: it may be cancelled on its own. */
    readonly alone: boolean,
  ) {}

  settle(error: Error | undefined, value: unknown): void {
    this.unwatch?.();
    if (error === undefined) this.resolve(value as O);
    else this.reject(error);
  }
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
  const call = new Call<O>(def, options?.timeout ?? 0, signal !== undefined);
  const taken = inputAtCall(input, options?.transfer);
  const job = engine.submit(group, call, taken.input, taken.transfer);
  if (signal !== undefined && !job.settled) {
    call.unwatch = watchSignal(engine, signal, () => engine.cancel(job, abortedBy(signal)));
  }
  return withAwaitingCaller(call.promise);
}

/** The runs of a group of inputs (`submitGroup`): one promise per input, in order, and their common cancel. */
export interface GroupRuns<O> {
  readonly runs: Promise<O>[];
  /** Stops those not started before it aborts the running ones (`cancelGroup`); they reject with `reason`. */
  cancel(reason: Error): void;
}

/**
 * Runs one task on each of `inputs` as a group of their own, cancelled together: the inputs of a
 * remote server's job. Unlike `run()` calls with a signal, they may share jobs (a task measured
 * tiny), since none is cancelled alone. The caller holds the cancel rather than passing an
 * AbortSignal: a server makes one group per BullMQ job, and a signal's listeners cost more than
 * the job's own work in the engine.
 */
export function submitGroup<I, O>(
  engine: ThreadEngine,
  task: TaskLike<I, O>,
  inputs: readonly I[],
  options: { readonly timeout?: number },
): GroupRuns<O> {
  const def = definitionOf(toTask(task));
  engine.checkTask(def);
  const timeout = options.timeout ?? 0;
  const group = engine.openGroup(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  const calls = inputs.map(() => new Call<O>(def, timeout, false));
  for (const [index, call] of calls.entries()) engine.submit(group, call, inputs[index], undefined);
  // Every input is queued: placed and sent now, they share jobs all the same, and do not wait for
  // the end of the turn behind the caller's other work (a task server's Redis commands).
  engine.dispatch(true);
  return { runs: calls.map((call) => call.promise), cancel: (reason) => engine.cancelGroup(group, reason) };
}
