import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';
import type { Queue } from '../util/queue';
import { travelsInValues } from './backlog';

/** Values a job of several carries at most, and the ms of task time one is made to hold at most. */
const maxValues = 256;
const valuesBudgetMs = 0.1;

/** Values of a job of several for a task whose values run `ms` each: within the budget, 1 to `maxValues`. */
function valuesFor(ms: number): number {
  return Math.max(1, Math.min(maxValues, Math.floor(valuesBudgetMs / ms)));
}

/** A moving average of the ms a value ran: the first measure, then a fifth of each new one. */
function averaged(last: number | undefined, each: number): number {
  return last === undefined ? each : last * 0.8 + each * 0.2;
}

/** What a job of several values needs of a queued call (the engine's `Job`). */
export interface SharingCall {
  settled: boolean;
  readonly input: unknown;
  readonly values: number;
  readonly timeout: number;
  readonly transfer: readonly Transferable[] | undefined;
  readonly spec: {
    readonly alone?: boolean;
    readonly yielded?: unknown;
    settle(error: Error | undefined, value: unknown, job: SharingCall, index: number): void;
  };
}

/** A queued `run()` call that may share a job with others: nothing to cancel it alone, a primitive input. */
export function mayShare(job: SharingCall): boolean {
  return (
    job.values === 0 &&
    !job.settled &&
    job.timeout === 0 &&
    job.transfer === undefined &&
    job.spec.alone !== true &&
    job.spec.yielded === undefined &&
    travelsInValues(job.input)
  );
}

/**
 * Takes from the front of `items` (whose first is a call that may share) the calls of its task that
 * may share one job with it, at most `max`; fewer than 2 are left in place, and `undefined` returned.
 */
export function takeSharing<C extends SharingCall & { readonly def: TaskDefinition }>(
  items: Queue<C>,
  max: number,
): C[] | undefined {
  const first = items.peek()!;
  const calls: C[] = [];
  for (let call = items.peek(); call !== undefined && calls.length < max; call = items.peek()) {
    if (call.def !== first.def || !mayShare(call)) break;
    calls.push(items.shift()!);
  }
  if (calls.length >= 2) return calls;
  for (let i = calls.length - 1; i >= 0; i--) items.unshift(calls[i]!);
  return undefined;
}

/**
 * The spec of a job of several `run()` calls: each value's outcome settles its own call (the
 * job's `tag` is where its values start among `calls`: a job made of the rest of another keeps its place).
 */
export class CallBundle {
  readonly timeout = 0;

  constructor(
    readonly def: TaskDefinition,
    private readonly calls: readonly SharingCall[],
  ) {}

  settle(error: Error | undefined, value: unknown, job: { readonly tag: number }, index: number): void {
    const call = this.calls[job.tag + index]!;
    call.settled = true;
    call.spec.settle(error, value, call, 0);
  }
}

/**
 * How many values a group's jobs may carry, from the ms its tasks' values ran: per task (its key),
 * in the engine's `taskTimes`, which the next stream or call of a task starts from; and for a
 * stream, its own measure (`streamKey` its task).
 */
export class ValueTimes {
  /** A stream's moving average of the ms one of its values ran, once measured. */
  private valueMs: number | undefined;

  constructor(
    private readonly taskTimes: Map<number, number>,
    private readonly streamKey: number | undefined,
  ) {
    if (streamKey !== undefined) this.valueMs = taskTimes.get(streamKey);
  }

  /** A job of task `key` ran `values` values in `ms`. */
  measure(ms: number, values: number, key: number): void {
    const each = ms / values;
    if (this.streamKey !== undefined) {
      this.valueMs = averaged(this.valueMs, each);
      this.taskTimes.set(this.streamKey, this.valueMs);
      return;
    }
    this.taskTimes.set(key, averaged(this.taskTimes.get(key), each));
  }

  /** Values the stream's next job may carry. */
  forStream(): number {
    return this.valueMs === undefined ? 1 : valuesFor(this.valueMs);
  }

  /** Values the next job of calls of task `key` may carry. */
  forCalls(key: number): number {
    const ms = this.taskTimes.get(key);
    return ms === undefined ? 1 : valuesFor(ms);
  }
}
