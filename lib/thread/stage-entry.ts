/**
 * The script an `inThread` stage thread starts with: it calls the stage with an `input$` fed by
 * the caller's source, and sends what the stage emits back, in batches.
 */
import { workerData } from 'node:worker_threads';
import { type Observable, Subject, type Subscription } from 'rxjs';
import { type Transferable, transferList } from '../context';
import { rebuildError } from '../errors';
import { StageCounter, type StageInit, StageKind, type StageMessage } from '../protocol';
import { ContextBase } from './context';
import { TaskLoader } from './loader';
import { isTransfer, toWire } from './outbox';

const init = workerData as StageInit;
const { port } = init;
const counters = new Int32Array(init.counters);

class StageContext extends ContextBase {
  get aborted(): boolean {
    return Atomics.load(counters, StageCounter.Aborted) === 1;
  }
}
const ctx = new StageContext();

// ---- out: what the stage emits, batched per turn of the event loop ----

let out: unknown[] = [StageKind.Next];
let outTransfers: Transferable[] = [];
let flushScheduled = false;

function post(message: StageMessage, transfer?: Transferable[]): void {
  port.postMessage(message, transferList(transfer));
}

function flush(): void {
  flushScheduled = false;
  if (out.length === 1) return;
  const message = out as StageMessage;
  const transfers = outTransfers;
  out = [StageKind.Next];
  outTransfers = [];
  try {
    post(message, transfers);
  } catch (error) {
    // Find the value that cannot be cloned; send those before it, then fail the stream with it.
    for (let i = 1; i < message.length; i++) {
      try {
        post([StageKind.Next, message[i]]);
      } catch {
        const reason = (error as Error).message;
        post([
          StageKind.Unclonable,
          toWire(error, `A value the stage emitted could not be cloned to the caller: ${reason}`),
        ]);
        stop();
        return;
      }
    }
  }
}

function emit(value: unknown): void {
  if (isTransfer(value)) {
    out.push(value.value);
    outTransfers.push(...value.list);
  } else {
    out.push(value);
  }
  if (out.length > 256) flush();
  else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

// ---- in: the caller's source, delivered to input$ once the stage has subscribed to it ----

const input$ = new Subject<unknown>();
/** The source's error as delivered to input$: if the stage lets it through, the caller gets its own back. */
let sourceError: Error | undefined;
let started = false;
const early: StageMessage[] = [];
let subscription: Subscription | undefined;

function deliver(message: StageMessage): void {
  switch (message[0]) {
    case StageKind.Next:
      for (let i = 1; i < message.length && !ctx.aborted; i++) input$.next(message[i]);
      // Credit for the sender: these values have been handed to the stage.
      Atomics.add(counters, StageCounter.Consumed, message.length - 1);
      Atomics.notify(counters, StageCounter.Consumed);
      break;
    case StageKind.Complete:
      input$.complete();
      break;
    case StageKind.Error:
      sourceError = rebuildError(message[1]);
      input$.error(sourceError);
      break;
    case StageKind.Stop:
      stop();
      break;
  }
}

let stopped = false;
/** Unsubscribes the stage here, so its teardown and `finalize` run in this thread. */
function stop(): void {
  if (stopped) return;
  stopped = true;
  ctx.abort();
  subscription?.unsubscribe();
  flush();
  post([StageKind.Stop]);
}

port.on('message', (message: StageMessage) => {
  if (started || message[0] === StageKind.Stop) deliver(message);
  else early.push(message);
});

async function main(): Promise<void> {
  const loader = new TaskLoader(init.tsNode);
  loader.define(init.def);
  const loaded = await loader.load(init.def.key);
  if (loaded.error !== undefined) {
    post([StageKind.Error, toWire(loaded.error)]);
    return;
  }
  if (ctx.aborted) {
    stop();
    return;
  }
  try {
    const output = loaded.fn(input$.asObservable(), ctx) as Observable<unknown>;
    if (typeof output?.subscribe !== 'function') {
      throw new TypeError(`The stage must return an Observable, got ${output === null ? 'null' : typeof output}`);
    }
    subscription = output.subscribe({
      next: emit,
      error: (error: unknown) => {
        flush();
        post(error === sourceError ? [StageKind.Error, toWire(error), 1] : [StageKind.Error, toWire(error)]);
      },
      complete: () => {
        flush();
        post([StageKind.Complete]);
      },
    });
  } catch (error) {
    post([StageKind.Error, toWire(error)]);
    return;
  }
  started = true;
  for (const message of early.splice(0)) deliver(message);
}

void main();
