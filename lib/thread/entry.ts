/**
 * The script every rxthreads thread starts with. It receives batches of jobs, runs them (one at a
 * time on a pool thread, all at once on an event-loop thread), and sends outcomes back in batches.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { TimeoutError } from '../errors';
import { record } from '../histogram';
import { toMicros } from '../metrics';
import {
  Header,
  Kind,
  type RunMessage,
  Slot,
  SlotInt,
  SlotTime,
  Stride,
  slotInts,
  slotTimes,
  type ThreadInit,
  ThreadTime,
  type ToThread,
  threadTimes,
  type WireError,
} from '../protocol';
import { ContextBase } from './context';
import { type Loaded, TaskLoader } from './loader';
import { Outbox, toWire } from './outbox';
import { driveStream, isGenerator } from './stream-task';

if (parentPort === null) throw new Error('rxthreads: the thread entry must run in a worker thread');
const port = parentPort;
const init = workerData as ThreadInit;
const states = new Int32Array(init.states);
const ints = new Int32Array(init.ints);
const times = new Float64Array(init.times);
const busyAt = times.length - threadTimes;
const recording = new Int32Array(init.recording);
const runHistogram = new Float64Array(init.runTime);
const waitHistogram = new Float64Array(init.waitTime);
/** Fixed for the thread's life; read once (the getter is not free at millions of jobs). */
const timeOrigin = performance.timeOrigin;
/** Tasks running now: the thread is busy while there is at least one. */
let running = 0;
const loader = new TaskLoader(init.tsNode);
const outbox = new Outbox(port);
/** The context of the job running in each slot, so a `cancel` message can fire its signal. */
const contexts: (Context | undefined)[] = [];
/** How long the last job took (ms). */
let lastJobMs = 0;

class Context extends ContextBase {
  private endedAborted: boolean | undefined;

  constructor(
    private readonly slot: number,
    private readonly started: number,
  ) {
    super();
  }

  get aborted(): boolean {
    return this.endedAborted ?? Atomics.load(states, this.slot) === Slot.Aborted;
  }

  /** The job is over: freeze what `aborted` says for anyone who kept this context, free the slot. */
  end(): void {
    this.endedAborted = this.aborted;
    contexts[this.slot] = undefined;
    Atomics.store(states, this.slot, Slot.Finished);
    const now = performance.now();
    lastJobMs = now - this.started;
    if (recording[0] !== 0) {
      record(runHistogram, toMicros(lastJobMs));
      const submittedAt = times[this.slot * slotTimes + SlotTime.SubmittedAt]!;
      record(waitHistogram, toMicros(timeOrigin + this.started - submittedAt));
    }
    if (--running === 0) {
      const since = times[busyAt + ThreadTime.BusySince]!;
      times[busyAt + ThreadTime.BusyTotal] = times[busyAt + ThreadTime.BusyTotal]! + timeOrigin + now - since;
      times[busyAt + ThreadTime.BusySince] = -1;
    }
    outbox.busyMs += lastJobMs;
  }
}

const missingIdentifier = /^(\S+) is not defined$/;

function describeThrown(error: unknown, key: number): WireError {
  if (error instanceof ReferenceError && loader.definition(key)?.kind === 'inline') {
    const name = missingIdentifier.exec(error.message)?.[1];
    if (name !== undefined) {
      return toWire(
        error,
        `Inline task reads \`${name}\`, which is not defined in the thread: inline tasks must be self-contained ` +
          '(they may use only their parameters and globals). Pass the value as input, or use moduleTask.',
      );
    }
  }
  return toWire(error);
}

/** Runs one job; returns a promise only if it did not finish synchronously. */
function execute(
  loaded: Loaded,
  slot: number,
  key: number,
  input: unknown,
  started: number,
): Promise<void> | undefined {
  const ctx = new Context(slot, started);
  contexts[slot] = ctx;
  if (loaded.error !== undefined) {
    ctx.end();
    outbox.threw(slot, toWire(loaded.error));
    return undefined;
  }
  let result: unknown;
  try {
    result = loaded.fn(input, ctx);
  } catch (error) {
    ctx.end();
    outbox.threw(slot, describeThrown(error, key));
    return undefined;
  }
  if (isGenerator(result)) {
    if (ints[slot * slotInts + SlotInt.Streams] === 0) {
      // run() and submit() take one value: the generator's body never starts.
      ctx.end();
      outbox.refused(slot);
      return undefined;
    }
    return driveStream(result, {
      slot,
      ctx,
      ints,
      outbox,
      flushSoon,
      describe: (error) => describeThrown(error, key),
    });
  }
  if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
    return Promise.resolve(result).then(
      (value) => {
        ctx.end();
        outbox.ok(slot, value);
      },
      (error: unknown) => {
        ctx.end();
        outbox.threw(slot, describeThrown(error, key));
      },
    );
  }
  ctx.end();
  outbox.ok(slot, result);
  return undefined;
}

function start(slot: number, key: number, input: unknown): Promise<void> | undefined {
  // Written before the slot turns Started, so that whoever sees Started reads this job's start.
  const started = performance.now();
  times[slot * slotTimes + SlotTime.StartedAt] = timeOrigin + started;
  // The main thread may have cancelled or revoked the job while it waited here: whoever swaps
  // the slot first decides, so a cancelled job can never start.
  if (Atomics.compareExchange(states, slot, Slot.Pending, Slot.Started) !== Slot.Pending) {
    outbox.skipped(slot);
    return undefined;
  }
  if (running++ === 0) times[busyAt + ThreadTime.BusySince] = timeOrigin + started;
  // The main thread waits for this start to time the job out.
  if (ints[slot * slotInts + SlotInt.Watched] !== 0) Atomics.notify(states, slot);
  const loaded = loader.ready(key);
  if (loaded !== undefined) return execute(loaded, slot, key, input, started);
  return loader.load(key).then((ready) => execute(ready, slot, key, input, started));
}

// ---- flushing ----

let flushScheduled = false;
function flushSoon(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    outbox.flush();
  });
}

// ---- sequential mode: one job at a time, in order ----

const batches: RunMessage[] = [];
let position = Header;
let draining = false;
/** Per task: how many runs in a row were tiny. Only a task proven tiny shares result messages. */
const tinyStreak = new Map<number, number>();
const tinyMs = 0.02;
const provenTiny = 64;

async function drain(): Promise<void> {
  draining = true;
  while (batches.length > 0) {
    const batch = batches[0]!;
    while (position < batch.length) {
      const i = position;
      position += Stride;
      const key = batch[i + 1] as number;
      // Finished results go out before a job starts, unless that job's task has proven tiny: a
      // job of unknown length must never hold finished results back (a take(n) downstream may be
      // waiting for them to cancel this very job).
      if (
        outbox.size > 0 &&
        ((tinyStreak.get(key) ?? 0) < provenTiny || outbox.size >= 256 || performance.now() - outbox.since >= 0.2)
      ) {
        outbox.flush();
      }
      const pending = start(batch[i] as number, key, batch[i + 2]);
      if (pending !== undefined) {
        // Results so far go out if the task really waits (I/O), not for a task that resolves at once.
        flushSoon();
        await pending;
      }
      tinyStreak.set(key, lastJobMs < tinyMs ? (tinyStreak.get(key) ?? 0) + 1 : 0);
    }
    batches.shift();
    position = Header;
    // Take jobs that already wait in the port now rather than after a round trip through the
    // event loop: their results then share messages with these, and batches stay large.
    if (batches.length === 0) {
      const next = receiveMessageOnPort(port);
      if (next !== undefined) onMessage(next.message as ToThread);
    }
  }
  outbox.flush();
  draining = false;
}

// ---- concurrent mode: every job at once ----

function startAll(batch: RunMessage): void {
  for (let i = Header; i < batch.length; i += Stride) {
    const pending = start(batch[i] as number, batch[i + 1] as number, batch[i + 2]);
    if (pending !== undefined) void pending.then(flushSoon);
  }
  flushSoon();
}

function onMessage(message: ToThread): void {
  switch (message[0]) {
    case Kind.Run:
      if (message[1] !== 0) for (const def of message[1]) loader.define(def);
      if (init.mode === 'concurrent') {
        startAll(message);
      } else {
        batches.push(message);
        if (!draining) void drain();
      }
      break;
    case Kind.Cancel:
      contexts[message[1]]?.abort(message[2] === undefined ? undefined : new TimeoutError(message[2]));
      break;
  }
}

port.on('message', onMessage);
// A thread that dies by process.exit or an uncaught error still sends what it has finished.
process.on('exit', () => outbox.flush());
process.on('uncaughtExceptionMonitor', () => outbox.flush());
port.postMessage([Kind.Ready]);
