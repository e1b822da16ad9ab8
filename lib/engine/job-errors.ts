import type { TaskDefinition } from '../task/definition';
import { ClosedError, SerializationError, TimeoutError, type WorkerCrashedError } from '../util/errors';
import { displayOf, rebuildError, taskErrorFrom, type WireError } from '../wire/errors';
import { Outcome } from '../wire/thread';
import type { Job } from './job';
import { CallBundle } from './values';

// The errors jobs fail with, and how they name a job.

export const endedMessage = 'The thread running this task was ended because';

/** The error of a `Threw`, `Unclonable` or `StreamRefused` outcome. */
export function outcomeError(outcome: Outcome, wire: WireError): Error {
  if (outcome === Outcome.Threw) return taskErrorFrom(wire);
  if (outcome === Outcome.StreamRefused) return streamRefused();
  return new SerializationError(displayOf(wire), { cause: rebuildError(wire) });
}

function streamRefused(): TypeError {
  return new TypeError(
    'This task is a generator function, which streams values: run it with offloadToThread, offloadFrom ' +
      'or runOnLoop, which emit each value it yields; pool.run and loop.submit resolve with one value',
  );
}

/** Work given to an owner that is closing or closed: which owner, and what to do. */
export function closedError(owner: string, state: 'closing' | 'terminating' | 'ended'): ClosedError {
  const how = state === 'ended' ? 'has been closed (close() or terminate() was called)' : 'is closing';
  return new ClosedError(
    `This ${owner} ${how}, so it takes no more tasks: create a new one for this work, or call close() only ` +
      'after its last use (defaultPool() makes a new shared pool once the old one is closed).',
  );
}

/** Names a job's task for an error message about it: `task hash.js#sha256 (input #3)`. */
export function describeJob(job: Job): string {
  // A job of several values of a stream names the one its thread started last (calls have no position).
  if (job.spec instanceof CallBundle) return `task ${taskName(job.def)}`;
  const at = job.values > 0 && job.thread !== undefined ? job.tag + job.thread.slots.progress(job.slot) : job.tag;
  return `task ${taskName(job.def)}${at >= 0 ? ` (input #${at})` : ''}`;
}

/** The last part of a module's path or URL. */
function basename(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

function taskName(def: TaskDefinition): string {
  if (def.kind === 'module') return `${basename(def.path)}#${def.exportName}`;
  if (def.kind === 'named') return `"${def.name}"`;
  const firstLine = def.source.split('\n', 1)[0]!.trim();
  return `\`${firstLine.length > 40 ? `${firstLine.slice(0, 39)}…` : firstLine}\``;
}

/** Why a thread was ended for a job that ran past its grace period after a cancel or a timeout. */
export function overranGrace(job: Job, reason: Error | undefined, graceMs: number): string {
  const what = reason instanceof TimeoutError ? `ran past its timeout of ${reason.timeout} ms` : 'was cancelled';
  return `${describeJob(job)} ${what} and did not stop within cancelGraceMs (${graceMs} ms)`;
}

/** Why a thread died, for the other jobs it held: `task x.js#f (input #2) crashed it: …`. */
export function crashedBy(job: Job | undefined, crash: WorkerCrashedError): string {
  const how = crash.cause instanceof Error ? crash.cause.message : `exit code ${crash.exitCode}`;
  return job === undefined ? `it died (${how})` : `${describeJob(job)} crashed it (${how})`;
}
