import { deserialize, serialize } from 'node:v8';
import { SerializationError, TaskError, TimeoutError, WorkerCrashedError } from '../util/errors';
import type { WireError } from './errors';
import { displayOf, rebuildError, taskErrorFrom, toWire } from './errors';

/** What a BullMQ job carries: a task name and a structured clone, never code. */
export interface JobData {
  /** The task's name in the workers' `tasks` map. */
  readonly t: string;
  /** The inputs, each `v8.serialize`d, in base64 (BullMQ stores job data as JSON). */
  readonly i: string[];
  /** The list the worker pushes the outcomes to: the caller's reply list. */
  readonly r: string;
  /** A key that exists while the caller does: without it, nobody waits for the job. */
  readonly l: string;
  /** Runs allowed: a job started more often than this (its workers died) fails. */
  readonly a: number;
  /** Ms each input's task may run once started on a thread (the operator's `timeout`); 0: no limit. */
  readonly o: number;
}

/** How a job ended, as the worker reports it on the caller's reply list. */
export const RemoteOutcome = {
  Ok: 0,
  Threw: 1,
  /** The input could not be read, or the result could not be serialized. */
  Unclonable: 2,
  /** The thread running it died, or its workers died more often than `attempts` allows. */
  Crashed: 3,
  /** It ran longer than its `timeout`; the value is that timeout. */
  TimedOut: 4,
} as const;
export type RemoteOutcome = (typeof RemoteOutcome)[keyof typeof RemoteOutcome];

/**
 * `[jobId, index, outcome, value, exitCode, ms]`: the outcome of input `index` of a job. The value
 * is the serialized result for `Ok`, a `WireError` otherwise (and in the next slot the exit code
 * for `Crashed`, the timeout for `TimedOut`);
 * `ms` is how long the worker took over that input, which sizes the caller's batches.
 */
export type Reply = [
  jobId: string,
  index: number,
  outcome: RemoteOutcome,
  value: unknown,
  exitCodeOrTimeout: number | undefined,
  ms: number,
];

/** Keys and channels of one queue, beside BullMQ's own (same prefix). */
export function replyKey(prefix: string, queue: string, poolId: string): string {
  return `${prefix}:${queue}:rxthreads:reply:${poolId}`;
}

export function liveKey(prefix: string, queue: string, poolId: string): string {
  return `${prefix}:${queue}:rxthreads:live:${poolId}`;
}

/** How long a caller's live key lasts without being renewed (it renews it at a third of this). */
export const liveTtlMs = 60_000;

export function cancelChannel(prefix: string, queue: string): string {
  return `${prefix}:${queue}:rxthreads:cancel`;
}

/** v8.serialize's header (0xFF and its format version), which every value's bytes start with. */
const header = serialize(0).subarray(0, 2);
/** v8's tag of a double, followed by its 8 bytes (little-endian). */
const doubleTag = 0x4e;
const doubleBytes = 11;

/**
 * A number's bytes, as v8.serialize would write a double: a number is the commonest input and
 * result, and `serialize` costs about 10 µs a call (a serializer object each), the number alone
 * nanoseconds. Read back by `deserialize` as well as by `decodeValue`'s own shortcut.
 */
function encodeNumber(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(doubleBytes);
  bytes[0] = header[0]!;
  bytes[1] = header[1]!;
  bytes[2] = doubleTag;
  bytes.writeDoubleLE(value, 3);
  return bytes;
}

/** Serializes a value as a structured clone; throws `SerializationError` with the `DataCloneError` as cause. */
export function encodeValue(value: unknown, what: string): Buffer {
  if (typeof value === 'number') return encodeNumber(value);
  try {
    return serialize(value);
  } catch (error) {
    // v8.serialize throws a plain Error; a local thread's postMessage a DataCloneError: keep the latter's shape.
    const message = error instanceof Error ? error.message : String(error);
    const cause = new DOMException(message, 'DataCloneError');
    throw new SerializationError(`${what} could not be serialized: ${message}`, { cause });
  }
}

export function decodeValue(bytes: Buffer): unknown {
  if (bytes.length === doubleBytes && bytes[2] === doubleTag && bytes[0] === header[0]) return bytes.readDoubleLE(3);
  return deserialize(bytes);
}

/**
 * The outcomes a worker knew in one turn for one caller, as one element of its reply list: one
 * Redis command and one read for all of them.
 */
export function encodeReplies(replies: readonly Reply[]): Buffer {
  return serialize(replies);
}

/** The outcomes of one element of a reply list: several (`encodeReplies`), or one `Reply` alone. */
export function decodeReplies(bytes: Buffer): Reply[] {
  const decoded = deserialize(bytes) as unknown;
  if (!Array.isArray(decoded)) throw new TypeError('Not a reply');
  return typeof decoded[0] === 'string' ? [decoded as Reply] : (decoded as Reply[]);
}

/** The wire form of a failure seen in a worker process. */
export function wireOf(error: unknown): WireError {
  if (!(error instanceof TaskError)) return toWire(error);
  // The thrown error as it was, and what the task's error says of it if that differs (advice).
  const thrown = error.cause;
  return toWire(thrown, thrown instanceof Error && thrown.message === error.message ? undefined : error.message);
}

/** Rebuilds on the caller's side the error a worker reported. */
export function errorOf(outcome: RemoteOutcome, wire: WireError, exitCode: number | undefined): Error {
  switch (outcome) {
    case RemoteOutcome.Threw:
      return taskErrorFrom(wire);
    case RemoteOutcome.TimedOut:
      return new TimeoutError(exitCode ?? 0);
    case RemoteOutcome.Unclonable:
      return new SerializationError(displayOf(wire), { cause: rebuildError(wire) });
    default:
      return new WorkerCrashedError(exitCode ?? 1, { cause: rebuildError(wire) });
  }
}
