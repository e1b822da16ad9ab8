/**
 * The script an `inThread` stage thread starts with: it calls the stage with an `input$` fed by
 * the caller's source, and sends what the stage emits back, in batches. After its last message
 * (the stage completed, errored or was unsubscribed) it closes its port, so the thread exits by
 * itself once the stage's teardown is done.
 */
import { workerData } from 'node:worker_threads';
import { type Observable, Subject, type Subscription } from 'rxjs';
import { type Transferable, transferList } from '../context';
import { rebuildError } from '../errors';
import {
  StageCounter,
  type StageFromThread,
  type StageInit,
  StageKind,
  type StageToThread,
  type WireError,
} from '../protocol';
import { ContextBase } from './context';
import { TaskLoader } from './loader';
import { isTransfer, toWire } from './outbox';

const init = workerData as StageInit;
const { port } = init;
const counters = new Int32Array(init.counters);

// The caller may be blocked in Atomics.wait for credit (overflow: 'block'): wake it if this thread
// dies, whatever the reason, or it would wait for credit that never comes.
process.on('exit', () => {
  Atomics.store(counters, StageCounter.Exited, 1);
  Atomics.notify(counters, StageCounter.Consumed);
});

class StageContext extends ContextBase {
  get aborted(): boolean {
    return Atomics.load(counters, StageCounter.Aborted) === 1;
  }
}
const ctx = new StageContext();

function post(message: StageFromThread, transfer?: Transferable[]): void {
  port.postMessage(message, transferList(transfer));
}

// ---- out: what the stage emits, batched per turn of the event loop ----

/** Outputs per message at most. */
const batchSize = 256;
let out: unknown[] = [StageKind.Next];
/** The buffers to move with each pending output (parallel to `out`, less its kind). */
let outTransfers: (readonly Transferable[] | undefined)[] = [];
let hasTransfers = false;
let flushScheduled = false;

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
  try {
    post(message, withTransfers ? transfers.flatMap((list) => list ?? []) : undefined);
    return undefined;
  } catch {
    // A failed postMessage sends and moves nothing: send the values one by one up to the bad one.
    for (let i = 1; i < message.length; i++) {
      try {
        post([StageKind.Next, message[i]], transfers[i - 1] as Transferable[] | undefined);
      } catch (single) {
        const reason = (single as Error).message;
        return toWire(single, `A value the stage emitted could not be cloned to the caller: ${reason}`);
      }
    }
    return undefined;
  }
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
    // A macrotask, not a microtask: everything the stage emits while handling one batch of input
    // (which arrives as one message) shares one message back.
    setImmediate(flushNow);
  }
}

// ---- the end: one last message, then the port closes and the thread can exit ----

let ended = false;
let subscription: Subscription | undefined;

/**
 * Sends the thread's last message. With `unsubscribe`, the stage is unsubscribed first, so its
 * teardown and `finalize` run here, before the caller hears of the end.
 */
function end(last: StageFromThread, unsubscribe: boolean): void {
  if (ended) return;
  ended = true;
  if (unsubscribe) {
    ctx.abort();
    try {
      subscription?.unsubscribe();
    } catch {
      // a teardown that throws: the stage is ended all the same
    }
  }
  const unclonable = flush();
  post(unclonable === undefined ? last : [StageKind.Unclonable, unclonable]);
  port.close();
}

/**
 * The stage completed or errored: RxJS runs its teardown right after our observer returns, so the
 * last message goes one microtask later, once the teardown has run. (The caller gives a thread
 * that has sent its last message a short grace to exit, then terminates it.)
 */
function endAfterTeardown(last: StageFromThread): void {
  queueMicrotask(() => end(last, false));
}

// ---- in: the caller's source, delivered to input$ once the stage has subscribed to it ----

const input$ = new Subject<unknown>();
/** The source's error as delivered to input$: if the stage lets it through, the caller gets its own back. */
let sourceError: Error | undefined;
let started = false;
const early: StageToThread[] = [];

function deliver(message: StageToThread): void {
  switch (message[0]) {
    case StageKind.Next:
      for (let i = 1; i < message.length && !ended && !ctx.aborted; i++) input$.next(message[i]);
      // Credit for the sender: these values have been handed to the stage (or skipped, once it ended).
      Atomics.add(counters, StageCounter.Consumed, message.length - 1);
      Atomics.notify(counters, StageCounter.Consumed);
      break;
    case StageKind.Complete:
      if (!ended) input$.complete();
      break;
    case StageKind.Error:
      sourceError = rebuildError(message[1]);
      if (!ended) input$.error(sourceError);
      break;
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
  for (const message of early.splice(0)) deliver(message);
}

void main();
