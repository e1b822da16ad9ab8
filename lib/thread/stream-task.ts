/**
 * Runs a streaming task in its thread: a task whose function returned a generator (a generator or
 * async generator function). Each yielded value goes to the caller as soon as it is yielded, in
 * batches only while more values are ready; the generator runs only while the caller has given
 * credit, so a stream nobody reads waits here rather than piling up in the caller.
 */

import type { WireError } from '../wire/errors';
import { SlotInt, SlotTime, slotInts, slotTimes } from '../wire/words';
import type { Outbox } from './outbox';
import { TinyWork } from './tiny-work';

type AnyGenerator = Generator<unknown, unknown, unknown> | AsyncGenerator<unknown, unknown, unknown>;

/** Whether a task's result is a generator object (sync or async), which makes the task stream. */
export function isGenerator(value: unknown): value is AnyGenerator {
  if (typeof value !== 'object' || value === null || typeof (value as { next?: unknown }).next !== 'function') {
    return false;
  }
  const tag = Object.prototype.toString.call(value);
  return tag === '[object Generator]' || tag === '[object AsyncGenerator]';
}

/** What the driver needs of the job's context. */
export interface StreamContext {
  readonly aborted: boolean;
  /** Fires `ctx.signal` now (a sync generator never lets the cancel message in). */
  abort(): void;
  /**
   * The job is over: frees its slot in the thread. False if the main thread abandoned the job (an
   * event-loop thread, past `cancelGraceMs`): then nothing more may be sent for that slot.
   */
  end(): boolean;
}

export interface StreamJob {
  readonly slot: number;
  readonly ctx: StreamContext;
  readonly ints: Int32Array;
  /** Per-slot times ({@link SlotTime}): the thread records here how long the job waited for credit. */
  readonly times: Float64Array;
  readonly outbox: Outbox;
  readonly describe: (error: unknown) => WireError;
}

const timeOrigin = performance.timeOrigin;

/** Values held for one message at most, and how long a value may wait for the next. */
const batchValues = 256;
const holdMs = 0.2;
/** A generator waiting for credit looks at its cancel flag at least this often. */
const creditCheckMs = 1000;

/** Calls `return()` so the generator's `finally` runs; whatever it throws stays here. */
async function close(generator: AnyGenerator): Promise<void> {
  try {
    await generator.return(undefined);
  } catch {
    // the stream is already over for the caller
  }
}

/** Drives a generator until it ends, throws, or is cancelled; never rejects. */
export async function driveStream(generator: AnyGenerator, job: StreamJob): Promise<void> {
  const { slot, ctx, ints, times, outbox } = job;
  const credit = slot * slotInts + SlotInt.Credit;
  const pausedAt = slot * slotTimes;
  const isAsync = Symbol.asyncIterator in generator;
  let failure: { wire: WireError; unclonable: boolean } | undefined;
  const steps = new TinyWork();
  try {
    for (;;) {
      if (ctx.aborted) break;
      const unclonable = outbox.failedStreams.get(slot);
      if (unclonable !== undefined) {
        failure = { wire: unclonable, unclonable: true };
        break;
      }
      const left = Atomics.load(ints, credit);
      if (left <= 0) {
        // Out of credit: send what is held, and wait for the caller to emit some values. The wait
        // (values held back for ordering, or unread) is no run time: its timeout does not count it.
        outbox.flush();
        if (!outbox.failedStreams.has(slot)) {
          const since = timeOrigin + performance.now();
          times[pausedAt + SlotTime.PausedSince] = since;
          await Atomics.waitAsync(ints, credit, left, creditCheckMs).value;
          times[pausedAt + SlotTime.PausedMs] =
            times[pausedAt + SlotTime.PausedMs]! + timeOrigin + performance.now() - since;
          times[pausedAt + SlotTime.PausedSince] = 0;
        }
        continue;
      }
      const stepStarted = performance.now();
      const step = isAsync ? await generator.next() : (generator as Generator).next();
      if (step.done) break;
      // Cancelled during the step: the value is not wanted, and after an abandon the slot (and its
      // credit) may no longer be this job's.
      if (ctx.aborted) break;
      Atomics.sub(ints, credit, 1);
      outbox.yielded(slot, step.value);
      if (isAsync) {
        // Values that are ready in this turn share a message; the next turn sends them.
        outbox.flushSoon();
      } else {
        // Only the next step can tell whether another value is ready, and the thread cannot send
        // while it runs: a value waits for that step only once the generator has proven fast.
        const now = performance.now();
        steps.record(now - stepStarted);
        if (!steps.proven || outbox.values >= batchValues || now - outbox.since >= holdMs) outbox.flush();
      }
    }
  } catch (error) {
    failure = { wire: job.describe(error), unclonable: false };
  }
  if (ctx.aborted || failure?.unclonable) {
    ctx.abort();
    await close(generator);
  }
  if (!ctx.end()) return;
  outbox.failedStreams.delete(slot);
  if (failure === undefined) outbox.ended(slot);
  else if (failure.unclonable) outbox.unclonable(slot, failure.wire);
  else outbox.threw(slot, failure.wire);
  outbox.flushSoon();
}
