import type { TaskDefinition } from '../task/definition';

/**
 * The messages that cross between the main thread and a pool or event-loop thread.
 *
 * Jobs travel in batches: one `run` message carries many jobs and one `results` message carries
 * many outcomes, so per-message cost is shared by all the values in it. Each job sits in a *slot*:
 * an index into the thread's Int32Array of slot states in shared memory (`words.ts`), which both
 * sides change with compare-and-swap so that starting a job and cancelling it can never both win.
 *
 * A job may carry several consecutive values of one stream (`SlotInt.Values`): its input is their
 * array, its thread runs them in turn and sends one outcome per value, in order, under the job's
 * slot, which the last one frees (`Skipped` frees it early: the job was cancelled while it ran).
 */

/** How a thread runs its jobs. */
export type RunMode =
  /** One job at a time, in order (a pool thread). */
  | 'sequential'
  /** Every job at once, interleaved on the thread's event loop (an event-loop thread). */
  | 'concurrent';

/** What `workerData` carries to a new thread. */
export interface ThreadInit {
  readonly states: SharedArrayBuffer;
  /** Int32 per-slot fields: `SlotInt` (words.ts), then the thread's, `ThreadInt`. */
  readonly ints: SharedArrayBuffer;
  /** Float64 per-slot fields: `SlotTime` (words.ts), then the thread's, `ThreadTime`. */
  readonly times: SharedArrayBuffer;
  /** Int32 flag: 1 while the thread records its tasks' run and wait times. */
  readonly recording: SharedArrayBuffer;
  /** Where the thread records them (µs, histogram.ts): shared with the main thread, which reads them for `stats()`. */
  readonly runTime: SharedArrayBuffer;
  readonly waitTime: SharedArrayBuffer;
  readonly mode: RunMode;
  /** The `PoolInt` words (words.ts) of the process's pool threads. */
  readonly pool: SharedArrayBuffer;
  /** A thread spins for work only while fewer than this many other pool threads are awake: the cores less one. */
  readonly spinBelow: number;
  /** This thread's bit in the `PoolInt.Awake` words, or -1: a loop thread, or more pool threads than bits (it never spins). */
  readonly awakeBit: number;
  /** Set when the creating process runs under ts-node, so the thread can load `.ts` task modules. */
  readonly tsNode: { readonly path: string; readonly options: Record<string, unknown> } | undefined;
}

/** Outcome codes in a `results` message. */
export const Outcome = {
  Ok: 0,
  Threw: 1,
  /** The job was cancelled or revoked before it started, and never ran. */
  Skipped: 2,
  /** The job ran but its result could not be cloned back. */
  Unclonable: 3,
  /** A streaming job yielded these values (an array, in order); it goes on, its slot stays held. */
  Yielded: 4,
  /** A streaming job's generator finished (returned, or stopped after a cancel); no value. */
  Ended: 5,
  /** A streaming task was given to `run`/`submit`, which take one value: it never ran. */
  StreamRefused: 6,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

// Messages are flat arrays, discriminated by their first element: cloning one array is much
// cheaper than cloning an object of arrays (a lone job's round trip costs ~20% less).

export const Kind = {
  Run: 0,
  Cancel: 1,
  Ready: 2,
  Results: 3,
  Close: 4,
  Abandon: 5,
  RunNumbers: 6,
  ResultsNumbers: 7,
} as const;

/** Elements before the first job of a `RunMessage` or the first outcome of a `ResultsMessage`. */
export const Header = 2;
/**
 * Elements per job (`jobCode`, input) or per outcome (`outcomeCode`, value). Each number packs two:
 * every element costs its own cloning both ways, and with tiny tasks the elements are the message.
 */
export const Stride = 2;

/** Slots per thread stay within this, so a slot packs with a task key into one number. */
export const maxSlots = 65536;
/** Outcome codes stay below this, so an outcome packs with its slot into one small integer. */
const outcomeSpan = 8;

/** Slot and task key of a job, in one number (a small integer while keys stay below 16,384). */
export function jobCode(slot: number, key: number): number {
  return key * maxSlots + slot;
}

export function slotOfJob(code: number): number {
  return code % maxSlots;
}

export function keyOfJob(code: number): number {
  return Math.floor(code / maxSlots);
}

/** Slot and outcome of a result, in one small integer. */
export function outcomeCode(slot: number, outcome: Outcome): number {
  return slot * outcomeSpan + outcome;
}

export function slotOfOutcome(code: number): number {
  return Math.floor(code / outcomeSpan);
}

export function outcomeOf(code: number): Outcome {
  return (code % outcomeSpan) as Outcome;
}

// ---- main thread → worker ----

/**
 * `[Run, defs, jobCode(slot, key), input, …]`: run task `key` on `input` in `slot`, for each job;
 * `defs` defines the tasks this thread has not seen yet (`0` when there are none).
 */
export type RunMessage = [kind: typeof Kind.Run, defs: TaskDefinition[] | 0, ...jobs: unknown[]];

/**
 * `[RunNumbers, defs, codes, inputs]`: a `run` message whose inputs are all numbers, packed into two
 * Float64Arrays (`jobCode(slot, key)` and the input, by job): cloned as two blocks of memory rather
 * than element by element, which is most of a tiny numeric job's cost of crossing.
 */
export type RunNumbersMessage = [
  kind: typeof Kind.RunNumbers,
  defs: TaskDefinition[] | 0,
  codes: Float64Array,
  inputs: Float64Array,
];

/**
 * `[Cancel, slot]`: fire `ctx.signal` of the job running in `slot`; `[Cancel, slot, timeoutMs]`:
 * the same because the job ran past its timeout (the signal's reason is a `TimeoutError`).
 */
export type CancelMessage = [kind: typeof Kind.Cancel, slot: number, timeoutMs?: number];

/**
 * `[Close]`: no more jobs will come and every job has settled: run the `onThreadClose` callbacks,
 * then let the event loop drain and exit by itself.
 */
export type CloseMessage = [kind: typeof Kind.Close];

/**
 * `[Abandon, slot]`: the job in `slot` was cancelled and is still running past the grace period
 * (its state is `Abandoned`): forget it and acknowledge with a `Skipped` outcome.
 */
export type AbandonMessage = [kind: typeof Kind.Abandon, slot: number];

export type ToThread = RunMessage | RunNumbersMessage | CancelMessage | CloseMessage | AbandonMessage;

// ---- worker → main thread ----

/** `[Ready]`: the thread's loop is running. */
export type ReadyMessage = [kind: typeof Kind.Ready];

/**
 * `[Results, busyMs, outcomeCode(slot, outcome), value, …]`: one outcome per job (per value for a
 * job of several). The value is the result for `Ok`, a `WireError` for `Threw` and `Unclonable`,
 * `undefined` for `Skipped`. `busyMs` is the time the thread spent running the jobs of this message.
 */
export type ResultsMessage = [kind: typeof Kind.Results, busyMs: number, ...outcomes: unknown[]];

/**
 * `[ResultsNumbers, busyMs, codes, values]`: a `results` message whose outcomes are all `Ok` with a
 * number, packed: `outcomeCode(slot, Ok)` in an Int32Array, the values in a Float64Array.
 */
export type ResultsNumbersMessage = [
  kind: typeof Kind.ResultsNumbers,
  busyMs: number,
  codes: Int32Array,
  values: Float64Array,
];

export type FromThread = ReadyMessage | ResultsMessage | ResultsNumbersMessage;

/**
 * The `[code, number]` pairs of a flat `run` or `results` message, as two typed arrays: what a
 * packed message (`RunNumbers`, `ResultsNumbers`) carries in their place.
 */
export function unzipNumbers<C extends Int32Array | Float64Array>(
  message: readonly unknown[],
  Codes: new (length: number) => C,
): [codes: C, numbers: Float64Array] {
  const count = (message.length - Header) / Stride;
  const codes = new Codes(count);
  const numbers = new Float64Array(count);
  for (let n = 0, at = Header; n < count; n++, at += Stride) {
    codes[n] = message[at] as number;
    numbers[n] = message[at + 1] as number;
  }
  return [codes, numbers];
}
