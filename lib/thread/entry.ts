/**
 * The script every rxthreads thread starts with. It receives batches of jobs, runs them (one at a
 * time on a pool thread, all at once on an event-loop thread), and sends outcomes back in batches.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { TimeoutError } from '../util/errors';
import { record, toMicros } from '../util/histogram';
import { toWire, type WireError } from '../wire/errors';
import {
  Header,
  Kind,
  keyOfJob,
  type RunMessage,
  Slot,
  SlotInt,
  SlotTime,
  Stride,
  slotInts,
  slotOfJob,
  slotTimes,
  type ThreadInit,
  ThreadInt,
  ThreadTime,
  type ToThread,
  threadInts,
  threadTimes,
} from '../wire/thread';
import { ContextBase } from './context';
import { explainThrown } from './inline-scope';
import { type Loaded, TaskLoader } from './loader';
import { runCloseCallbacks } from './on-close';
import { Outbox } from './outbox';
import { driveStream, isGenerator } from './stream-task';
import { TinyWork } from './tiny-work';

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
/** Jobs abandoned by the main thread that may still be running here. */
let abandoned = 0;

/** A task stopped running (it ended, or was abandoned): the thread goes idle with its last one. */
function notRunning(now: number): void {
  if (--running > 0) return;
  const since = times[busyAt + ThreadTime.BusySince]!;
  times[busyAt + ThreadTime.BusyTotal] = times[busyAt + ThreadTime.BusyTotal]! + timeOrigin + now - since;
  times[busyAt + ThreadTime.BusySince] = -1;
}

class Context extends ContextBase {
  private endedAborted: boolean | undefined;
  /** Set when the main thread abandoned this job: it no longer owns its slot. */
  private left = false;

  constructor(
    private readonly slot: number,
    private readonly started: number,
  ) {
    super();
  }

  get aborted(): boolean {
    if (this.endedAborted !== undefined) return this.endedAborted;
    // Abandoned: its slot may already hold another job, whose state says nothing about this one.
    if (this.left) return true;
    const state = Atomics.load(states, this.slot);
    return state === Slot.Aborted || state === Slot.Abandoned;
  }

  /**
   * The job is over: freeze what `aborted` says for anyone who kept this context, free the slot.
   * Returns false for an abandoned job, whose outcome must not be sent: the main thread no longer
   * waits for it, and its slot may soon hold another job.
   */
  end(): boolean {
    this.endedAborted = this.aborted;
    const now = performance.now();
    if (this.left) {
      abandoned--;
      return false;
    }
    notRunning(now);
    contexts[this.slot] = undefined;
    // Compare-and-swap: the main thread may abandon the job (Aborted → Abandoned) at this very
    // moment; then the `Abandon` message on its way gets the only answer for this slot.
    for (;;) {
      const state = Atomics.load(states, this.slot);
      if (state === Slot.Abandoned) return false;
      if (Atomics.compareExchange(states, this.slot, state, Slot.Finished) === state) break;
    }
    lastJobMs = now - this.started;
    if (recording[0] !== 0) {
      record(runHistogram, toMicros(lastJobMs));
      // Read before the outcome goes out: until then the slot (and its submission time) is this job's.
      const submittedAt = times[this.slot * slotTimes + SlotTime.SubmittedAt]!;
      record(waitHistogram, toMicros(timeOrigin + this.started - submittedAt));
    }
    outbox.busyMs += lastJobMs;
    return true;
  }

  /**
   * The main thread abandoned this job while it runs: it ends with the thread, unheard. From now on
   * it no longer counts as running (the thread's busy time, for `utilization`).
   */
  leave(): void {
    this.left = true;
    abandoned++;
    notRunning(performance.now());
  }
}

function describeThrown(error: unknown, key: number): WireError {
  return toWire(error, explainThrown(error, loader.definition(key)?.kind === 'inline'));
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
    if (ctx.end()) outbox.threw(slot, toWire(loaded.error));
    return undefined;
  }
  let result: unknown;
  try {
    result = loaded.fn(input, ctx);
  } catch (error) {
    if (ctx.end()) outbox.threw(slot, describeThrown(error, key));
    return undefined;
  }
  if (isGenerator(result)) {
    if (ints[slot * slotInts + SlotInt.Streams] === 0) {
      // run() and submit() take one value: the generator's body never starts.
      if (ctx.end()) outbox.refused(slot);
      return undefined;
    }
    return driveStream(result, {
      slot,
      ctx,
      ints,
      times,
      outbox,
      flushSoon,
      describe: (error) => describeThrown(error, key),
    });
  }
  if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
    return Promise.resolve(result).then(
      (value) => {
        if (ctx.end()) outbox.ok(slot, value);
      },
      (error: unknown) => {
        if (ctx.end()) outbox.threw(slot, describeThrown(error, key));
      },
    );
  }
  if (ctx.end()) outbox.ok(slot, result);
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
/** Per task: whether its jobs are proven tiny, so that finished results may wait for the next job. */
const tinyTasks = new Map<number, TinyWork>();

function tinyWorkOf(key: number): TinyWork {
  let work = tinyTasks.get(key);
  if (work === undefined) {
    work = new TinyWork();
    tinyTasks.set(key, work);
  }
  return work;
}

const haltAt = ints.length - threadInts + ThreadInt.Halt;

async function whileHalted(): Promise<void> {
  outbox.flush();
  while (Atomics.load(ints, haltAt) !== 0) await Atomics.waitAsync(ints, haltAt, 1).value;
}

async function drain(): Promise<void> {
  draining = true;
  while (batches.length > 0) {
    const batch = batches[0]!;
    while (position < batch.length) {
      const i = position;
      position += Stride;
      const code = batch[i] as number;
      const key = keyOfJob(code);
      const slot = slotOfJob(code);
      // Finished results go out before a job starts, unless that job's task has proven tiny: a
      // job of unknown length must never hold finished results back (a take(n) downstream may be
      // waiting for them to cancel this very job). Nor may a job with a timeout: if it ran past
      // it, the thread would be ended with those results still in it.
      const tiny = tinyWorkOf(key);
      if (
        outbox.size > 0 &&
        (!tiny.proven ||
          ints[slot * slotInts + SlotInt.Watched] !== 0 ||
          outbox.size >= 256 ||
          performance.now() - outbox.since >= 0.2)
      ) {
        outbox.flush();
      }
      // The main thread is deciding whether to end this thread: start nothing until it is done.
      if (Atomics.load(ints, haltAt) !== 0) await whileHalted();
      const pending = start(slot, key, batch[i + 1]);
      if (pending !== undefined) {
        // Results so far go out if the task really waits (I/O), not for a task that resolves at once.
        flushSoon();
        await pending;
      }
      tiny.record(lastJobMs);
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
    const code = batch[i] as number;
    const pending = start(slotOfJob(code), keyOfJob(code), batch[i + 1]);
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
    case Kind.Abandon: {
      const slot = message[1];
      contexts[slot]?.leave();
      contexts[slot] = undefined;
      outbox.skipped(slot);
      flushSoon();
      break;
    }
    case Kind.Close:
      void close();
      break;
  }
}

/**
 * A graceful end: every job has settled (the main thread sends `Close` only then). The callbacks
 * registered with `onThreadClose` run, then the thread stops listening and exits by itself once its
 * event loop drains, as a program would: pending writes flush and `process.on('exit')` fires.
 */
async function close(): Promise<void> {
  await runCloseCallbacks((error) => {
    process.emitWarning(`An onThreadClose callback threw: ${error instanceof Error ? error.stack : String(error)}`);
  });
  outbox.flush();
  if (abandoned > 0) {
    // Tasks abandoned after their cancel would keep the loop alive for ever: they end with the thread.
    setImmediate(() => process.exit(0));
    return;
  }
  port.off('message', onMessage);
  port.unref();
}

port.on('message', onMessage);
// A thread that dies by process.exit or an uncaught error still sends what it has finished.
process.on('exit', () => outbox.flush());
process.on('uncaughtExceptionMonitor', () => outbox.flush());
port.postMessage([Kind.Ready]);
