/**
 * The script every rxthreads thread starts with. It receives batches of jobs, runs them (one at a
 * time on a pool thread, all at once on an event-loop thread), and sends outcomes back in batches.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  Header,
  Kind,
  type RunMessage,
  Slot,
  Stride,
  type ThreadInit,
  type ToThread,
  type WireError,
} from '../protocol';
import { ContextBase } from './context';
import { explainThrown } from './inline-scope';
import { type Loaded, TaskLoader } from './loader';
import { runCloseCallbacks } from './on-close';
import { Outbox, toWire } from './outbox';

if (parentPort === null) throw new Error('rxthreads: the thread entry must run in a worker thread');
const port = parentPort;
const init = workerData as ThreadInit;
const states = new Int32Array(init.states);
const loader = new TaskLoader(init.tsNode);
const outbox = new Outbox(port);
/** The context of the job running in each slot, so a `cancel` message can fire its signal. */
const contexts: (Context | undefined)[] = [];
/** How long the last job took (ms). */
let lastJobMs = 0;
/** Jobs abandoned by the main thread that may still be running here. */
let abandoned = 0;

class Context extends ContextBase {
  private endedAborted: boolean | undefined;
  private readonly started = performance.now();
  /** Set when the main thread abandoned this job: it no longer owns its slot. */
  private left = false;

  constructor(private readonly slot: number) {
    super();
  }

  get aborted(): boolean {
    if (this.endedAborted !== undefined) return this.endedAborted;
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
    if (this.left) {
      abandoned--;
      return false;
    }
    // Compare-and-swap: the main thread may abandon the job (Aborted → Abandoned) at this very
    // moment; then the `Abandon` message on its way gets the only answer for this slot.
    for (;;) {
      const state = Atomics.load(states, this.slot);
      if (state === Slot.Abandoned) {
        contexts[this.slot] = undefined;
        return false;
      }
      if (Atomics.compareExchange(states, this.slot, state, Slot.Finished) === state) break;
    }
    contexts[this.slot] = undefined;
    lastJobMs = performance.now() - this.started;
    outbox.busyMs += lastJobMs;
    return true;
  }

  /** The main thread abandoned this job while it runs: it ends with the thread, unheard. */
  leave(): void {
    this.left = true;
    abandoned++;
  }
}

function describeThrown(error: unknown, key: number): WireError {
  return toWire(error, explainThrown(error, loader.definition(key)?.kind === 'inline'));
}

/** Runs one job; returns a promise only if it did not finish synchronously. */
function execute(loaded: Loaded, slot: number, key: number, input: unknown): Promise<void> | undefined {
  const ctx = new Context(slot);
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
  // The main thread may have cancelled or revoked the job while it waited here: whoever swaps
  // the slot first decides, so a cancelled job can never start.
  if (Atomics.compareExchange(states, slot, Slot.Pending, Slot.Started) !== Slot.Pending) {
    outbox.skipped(slot);
    return undefined;
  }
  const loaded = loader.ready(key);
  if (loaded !== undefined) return execute(loaded, slot, key, input);
  return loader.load(key).then((ready) => execute(ready, slot, key, input));
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
      contexts[message[1]]?.abort();
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
