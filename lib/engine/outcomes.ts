import type { WireError } from '../wire/errors';
import {
  Header,
  Kind,
  Outcome,
  outcomeOf,
  type ResultsMessage,
  type ResultsNumbersMessage,
  Stride,
  slotOfOutcome,
} from '../wire/thread';
import type { Job, JobThread } from './job';
import { outcomeError } from './job-errors';
import type { JobStates } from './job-states';
import { streamEnded } from './port';

// A thread's results message, read into the jobs' fates (`JobStates` decides each).

/**
 * The outcomes in a thread's results message (finished → delivered, or skipped): settles each job
 * it names and frees its slot. Returns how many jobs ran, for the batch size's measure.
 */
export function readResults(
  states: JobStates,
  thread: JobThread,
  message: ResultsMessage | ResultsNumbersMessage,
): number {
  if (message[0] === Kind.ResultsNumbers) return numberResults(states, thread, message);
  let ran = 0;
  for (let i = Header; i < message.length; i += Stride) {
    const code = message[i] as number;
    const outcome = outcomeOf(code);
    const slot = slotOfOutcome(code);
    const held = thread.jobs[slot];
    if (held !== undefined && held.values > 0) {
      if (valueOutcome(states, thread, held, outcome, message[i + 1])) ran++;
      continue;
    }
    if (outcome === Outcome.Yielded) {
      // The job goes on and keeps its slot.
      if (held !== undefined && !held.settled) held.spec.yielded?.(held, message[i + 1] as unknown[], 0);
      continue;
    }
    if (outcome !== Outcome.Skipped) ran++;
    const job = states.arrived(thread, slot);
    if (job === undefined) continue;
    const value = message[i + 1];
    if (outcome === Outcome.Ok || outcome === Outcome.Threw) job.group.measure(thread.slots, slot, 1, job.def.key);
    switch (outcome) {
      case Outcome.Ok:
        states.completed++;
        states.settle(job, undefined, value);
        break;
      case Outcome.Threw:
      case Outcome.Unclonable:
      case Outcome.StreamRefused:
        states.fail(job, outcomeError(outcome, value as WireError));
        break;
      case Outcome.Ended:
        states.completed++;
        states.settle(job, undefined, streamEnded);
        break;
      case Outcome.Skipped:
        // Never reached: a skipped job was cancelled (settled) or revoked (no longer held).
        break;
    }
  }
  return ran;
}

/**
 * An outcome of a job of several values: values it yielded, or the end of its next value (they
 * come in order), or `Skipped` (cancelled while it ran: the rest never ran). Its slot is freed
 * with its last value. Returns true if a value ran.
 */
function valueOutcome(states: JobStates, thread: JobThread, job: Job, outcome: Outcome, value: unknown): boolean {
  const slot = job.slot;
  if (outcome === Outcome.Skipped) {
    states.arrived(thread, slot);
    return false;
  }
  if (outcome === Outcome.Yielded) {
    // Its task streams: values of this group go one job each from now on, as streams do best.
    job.group.valuesPerJob = false;
    if (!job.settled) job.spec.yielded?.(job, value as unknown[], job.delivered);
    return false;
  }
  const index = delivered(states, thread, job, 1);
  if (index < 0) return true;
  if (outcome === Outcome.Ok || outcome === Outcome.Ended) {
    states.completed++;
    job.spec.settle(undefined, outcome === Outcome.Ok ? value : streamEnded, job, index);
  } else {
    states.failed++;
    job.spec.settle(outcomeError(outcome, value as WireError), undefined, job, index);
  }
  return true;
}

/** Packed results: every one a job that returned a number. */
function numberResults(states: JobStates, thread: JobThread, message: ResultsNumbersMessage): number {
  const codes = message[2];
  const values = message[3];
  const held = thread.jobs;
  for (let n = 0; n < codes.length; n++) {
    const code = codes[n]!;
    const slot = slotOfOutcome(code);
    const several = held[slot];
    if (several !== undefined && several.values > 0) {
      // A job's values come in order: the codes after this one naming its slot are its next values.
      const most = Math.min(codes.length, n + several.values - several.delivered);
      let end = n + 1;
      while (end < most && codes[end] === code) end++;
      if (several.spec.settleRun !== undefined && end - n > 1) valueResults(states, thread, several, values, n, end);
      else for (let i = n; i < end; i++) valueOutcome(states, thread, several, Outcome.Ok, values[i]);
      n = end - 1;
      continue;
    }
    const job = states.arrived(thread, slot);
    if (job === undefined) continue;
    job.group.measure(thread.slots, slot, 1, job.def.key);
    states.completed++;
    states.settle(job, undefined, values[n]);
  }
  return codes.length;
}

/**
 * Results `results[from]` to `results[to - 1]`, numbers, of the next values of `job`, a job of
 * several values of a stream: as `valueOutcome` for each, but handed to the stream at once.
 */
function valueResults(
  states: JobStates,
  thread: JobThread,
  job: Job,
  results: ArrayLike<number>,
  from: number,
  to: number,
): void {
  const index = delivered(states, thread, job, to - from);
  if (index >= 0) states.completed += job.spec.settleRun!(job, index, results, from, to);
}

/**
 * Counts `count` more values of `job`, a job of several, as delivered; after its last, frees its
 * slot. Returns the index of the first of them, or -1 if the job was already settled (cancelled,
 * failed) and they go nowhere.
 */
function delivered(states: JobStates, thread: JobThread, job: Job, count: number): number {
  const index = job.delivered;
  job.delivered += count;
  const last = job.delivered === job.values;
  if (last) {
    // Freed before its values are delivered, as a job of one is: the caller may cancel or feed more.
    if (!job.settled) job.group.measure(thread.slots, job.slot, job.values, job.def.key);
    states.arrived(thread, job.slot);
  }
  if (job.settled) return -1;
  if (last) job.settled = true;
  return index;
}
