/**
 * The script an `inThread` stage thread starts with: it calls the stage with an `input$` fed by
 * the caller's source, and sends what the stage emits back, in batches. After its last message
 * (the stage completed, errored or was unsubscribed) it runs the `onThreadClose` callbacks, closes
 * its port, and exits by itself once its event loop has drained.
 */
import { performance } from 'node:perf_hooks';
import { workerData } from 'node:worker_threads';
import { type Observable, Subject, type Subscription } from 'rxjs';
import type { Transferable } from '../task/context';
import { type BatchItems, portTarget, postBatch } from '../wire/batch';
import { rebuildError, toWire, type WireError } from '../wire/errors';
import { StageCounter, type StageFromThread, type StageInit, StageKind, type StageToThread } from '../wire/stage';
import { ContextBase } from './context';
import { TaskLoader } from './loader';
import { runCloseCallbacks } from './on-close';
import { isTransfer } from './outbox';

const init = workerData as StageInit;
const { port } = init;
const counters = new Int32Array(init.counters);

process.on('exit', () => {
  // A thread that dies (process.exit, an uncaught error) still sends what the stage emitted: the
  // caller takes it off the port before it reports the crash.
  if (!ended) flush();
  // The caller may be blocked in Atomics.wait for credit (overflow: 'block'): wake it, whatever
  // the reason this thread ends, or it would wait for credit that never comes.
  Atomics.store(counters, StageCounter.Exited, 1);
  Atomics.notify(counters, StageCounter.Consumed);
});

class StageContext extends ContextBase {
  get aborted(): boolean {
    return Atomics.load(counters, StageCounter.Aborted) === 1;
  }
}
const ctx = new StageContext();

function post(message: StageFromThread): void {
  port.postMessage(message);
}

// ---- out: what the stage emits, batched per turn of the event loop ----

/** Outputs per message at most. */
const batchSize = 256;
/**
 * While the stage works through one incoming batch, what it has emitted so far goes out as soon as
 * this much time has passed since the last message: a slow (CPU-bound) stage delivers each result
 * when it is ready, not when the whole batch is done; a fast one still shares messages.
 */
const promptMs = 1;
let out: unknown[] = [StageKind.Next];
/** The buffers to move with each pending output (parallel to `out`, less its kind). */
let outTransfers: (readonly Transferable[] | undefined)[] = [];
let hasTransfers = false;
let flushScheduled = false;
const target = portTarget(port);

/** What a value that could not be cloned failed with, while a batch went value by value. */
let unclonable: WireError | undefined;
/** If a batch cannot be cloned, its values go one by one, up to the one that fails. */
const alone: BatchItems = {
  header: 1,
  stride: 1,
  alone: [StageKind.Next],
  failed: (_n, _message, error) => {
    const reason = (error as Error).message;
    unclonable = toWire(error, `A value the stage emitted could not be cloned to the caller: ${reason}`);
    return false;
  },
};

/**
 * Sends the pending outputs. If one cannot be cloned, those before it are sent and its error is
 * returned: the caller ends the stage with it.
 */
function flush(): WireError | undefined {
  flushScheduled = false;
  if (out.length === 1) return undefined;
  const message = out as StageFromThread;
  const transfers = outTransfers;
  const withTransfers = hasTransfers;
  out = [StageKind.Next];
  outTransfers = [];
  hasTransfers = false;
  postBatch(target, message, withTransfers ? transfers.flatMap((list) => list ?? []) : undefined, transfers, alone);
  const failure = unclonable;
  unclonable = undefined;
  return failure;
}

/** Sends the pending outputs now; an unclonable one ends the stage. */
function flushNow(): void {
  const unclonable = flush();
  if (unclonable !== undefined) end([StageKind.Unclonable, unclonable], true);
}

function emit(value: unknown): void {
  if (ended) return;
  if (isTransfer(value)) {
    out.push(value.value);
    outTransfers.push(value.list);
    hasTransfers = true;
  } else {
    out.push(value);
    outTransfers.push(undefined);
  }
  if (out.length > batchSize) flushNow();
  else if (!flushScheduled) {
    flushScheduled = true;
    // A macrotask, not a microtask: everything the stage emits in this turn shares one message.
    setImmediate(flushNow);
  }
}

// ---- the end: the outcome, the close callbacks, then the port closes and the thread can exit ----

let ended = false;
let subscription: Subscription | undefined;
/** What the stage's teardown threw, if it did (an `UnsubscriptionError` of one error is unwrapped). */
let teardownError: { error: unknown } | undefined;

function unwrap(error: unknown): unknown {
  const errors = (error as { errors?: unknown } | null)?.errors;
  const single = (error as Error | null)?.name === 'UnsubscriptionError' && Array.isArray(errors);
  return single && errors.length === 1 ? errors[0] : error;
}

/**
 * Sends the stage's outcome after its pending outputs. With `unsubscribe`, the stage is
 * unsubscribed first, so its teardown and `finalize` run here, before the caller hears of the end.
 * A teardown that threw turns a completion into an error, and is reported with an unsubscribe.
 */
function end(last: StageFromThread, unsubscribe: boolean): void {
  if (ended) return;
  ended = true;
  if (unsubscribe) {
    ctx.abort();
    try {
      subscription?.unsubscribe();
    } catch (error) {
      teardownError ??= { error: unwrap(error) };
    }
  }
  const unclonable = flush();
  let outcome = last;
  if (unclonable !== undefined) outcome = [StageKind.Unclonable, unclonable];
  else if (teardownError !== undefined && last[0] === StageKind.Complete) {
    outcome = [StageKind.Error, toWire(teardownError.error)];
  } else if (teardownError !== undefined && last[0] === StageKind.Stop) {
    outcome = [StageKind.Stop, toWire(teardownError.error)];
  }
  post(outcome);
  void close();
}

/** The graceful end of the thread: its close callbacks, then nothing holds its event loop. */
async function close(): Promise<void> {
  await runCloseCallbacks((error) => post([StageKind.CloseError, toWire(error)]));
  port.close();
}

/**
 * The stage completed or errored: RxJS runs its teardown right after our observer returns, so the
 * outcome goes one microtask later, once the teardown has run. A teardown that throws throws into
 * whatever made the stage end: our own call into `input$` (caught there: `stageThrew`), or a timer or
 * I/O callback of the stage, where it is an uncaught exception that comes before that microtask.
 */
function endAfterTeardown(last: StageFromThread): void {
  const onThrow = (error: unknown): void => {
    teardownError ??= { error: unwrap(error) };
  };
  process.on('uncaughtException', onThrow);
  queueMicrotask(() => {
    process.off('uncaughtException', onThrow);
    end(last, false);
  });
}

/**
 * Something escaped our call into the stage (`input$`): its teardown's error as it ended, or the
 * stage fails with it.
 */
function stageThrew(error: unknown): void {
  if (ended || teardownError !== undefined) return;
  teardownError = { error: unwrap(error) };
  // Unless the stage has just ended (its outcome is on its way), this ends it.
  queueMicrotask(() => end([StageKind.Error, toWire(teardownError!.error)], true));
}

// ---- in: the caller's source, delivered to input$ once the stage has subscribed to it ----

const input$ = new Subject<unknown>();
/** The source's error as delivered to input$: if the stage lets it through, the caller gets its own back. */
let sourceError: Error | undefined;
let started = false;
const early: StageToThread[] = [];

/** Hands a batch of source values to the stage, sending its outputs and credit as it goes. */
function deliverValues(message: StageToThread): void {
  const count = message.length - 1;
  let granted = 0;
  let since = performance.now();
  for (let i = 1; i <= count && !ended && !ctx.aborted; i++) {
    try {
      input$.next(message[i]);
    } catch (error) {
      stageThrew(error);
    }
    const now = performance.now();
    if (now - since >= promptMs) {
      since = now;
      Atomics.add(counters, StageCounter.Consumed, i - granted);
      Atomics.notify(counters, StageCounter.Consumed);
      granted = i;
      if (!ended) flushNow();
    }
  }
  // Credit for the sender: these values have been handed to the stage (or skipped, once it ended).
  Atomics.add(counters, StageCounter.Consumed, count - granted);
  Atomics.notify(counters, StageCounter.Consumed);
}

function deliver(message: StageToThread): void {
  switch (message[0]) {
    case StageKind.Next:
      deliverValues(message);
      break;
    case StageKind.Complete:
      try {
        if (!ended) input$.complete();
      } catch (error) {
        stageThrew(error);
      }
      break;
    case StageKind.Error: {
      const error = rebuildError(message[1]);
      sourceError = error;
      try {
        if (!ended) input$.error(error);
      } catch (thrown) {
        stageThrew(thrown);
      }
      break;
    }
    case StageKind.Stop:
      end([StageKind.Stop], true);
      break;
  }
}

port.on('message', (message: StageToThread) => {
  if (started || message[0] === StageKind.Stop) deliver(message);
  else early.push(message);
});

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

async function main(): Promise<void> {
  const loader = new TaskLoader(init.tsNode);
  loader.define(init.def);
  const loaded = await loader.load(init.def.key);
  if (ended) return; // unsubscribed while loading: there is no stage to tear down
  if (loaded.error !== undefined) {
    end([StageKind.Error, toWire(loaded.error)], false);
    return;
  }
  try {
    let output = loaded.fn(input$.asObservable(), ctx) as Observable<unknown> | PromiseLike<Observable<unknown>>;
    // An async stage (an inline one that imports rxjs) resolves to its Observable.
    if (isPromiseLike(output)) output = await output;
    if (ended) return;
    if (typeof output?.subscribe !== 'function') {
      throw new TypeError(`The stage must return an Observable, got ${output === null ? 'null' : typeof output}`);
    }
    subscription = output.subscribe({
      next: emit,
      error: (error: unknown) => {
        const wire = toWire(error);
        endAfterTeardown(error === sourceError ? [StageKind.Error, wire, 1] : [StageKind.Error, wire]);
      },
      complete: () => endAfterTeardown([StageKind.Complete]),
    });
  } catch (error) {
    end([StageKind.Error, toWire(error)], true);
    return;
  }
  started = true;
  Atomics.store(counters, StageCounter.Started, 1);
  for (const message of early.splice(0)) deliver(message);
}

void main();
