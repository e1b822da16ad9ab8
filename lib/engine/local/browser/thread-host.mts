/**
 * What the worker scripts (lib/thread/) use of Node, for a Web Worker: the browser build of those
 * scripts resolves `node:worker_threads` to this module (build.mjs). The scripts are the same
 * files as on Node; this module gives them:
 *
 * - `workerData` (the first message, which the main thread's `spawnThread` sends; this module
 *   waits for it with a top-level await, so the scripts find it as they start), `threadId`,
 *   `parentPort` (the worker's global scope, with Node's `on`/`off`/`postMessage`), and
 *   `receiveMessageOnPort`, which finds nothing: a Web Worker cannot take a message synchronously;
 * - and, with `thread-globals.ts` (whose `process` and `setImmediate` they take), their end.
 *
 * A Web Worker never ends by itself, and its main thread gets no `exit` event: this module ends it
 * (`self.close()`) when the scripts would have let a Node thread exit (its port closed or unref'd
 * with nothing listening), on `process.exit()`, and on an uncaught error or rejection (after
 * `process.on('exit')` listeners ran, as on Node), and tells the main thread with an exit message,
 * sent after every message the thread posted. Where memory is not shared (a page that is not
 * cross-origin isolated), a `ThreadMirror` keeps this side's words in step with the main thread's.
 */
import { type ExitMessage, exitMessage, hostKey, type InitMessage } from './host-messages.js';
import { ThreadMirror } from './mirror.js';
import { needsMirror } from './mirror-words.js';
import { Emitter, end, onEnd } from './thread-globals.js';

interface WorkerScope {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  addEventListener(type: string, listener: (event: never) => void): void;
  close(): void;
}
interface BrowserPort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start(): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

// ---- the end ----

/** The end of the thread, after its 'exit' listeners: its exit message after all it posted, then close. */
onEnd((code, error) => {
  mirror?.flush();
  const message: ExitMessage = { [hostKey]: exitMessage, code, error: describe(error) };
  // After everything the thread posted: a stage's on its own port, a pool thread's on its own.
  if (stagePort !== undefined && !stagePort.closed) {
    stagePort.closed = true;
    stagePort.raw.postMessage(message);
    stagePort.raw.close();
  } else {
    scope.postMessage(message);
  }
  scope.close();
});

function describe(error: unknown): ExitMessage['error'] {
  if (error === undefined) return undefined;
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: `Uncaught ${String(error)}` };
}

/** Ends the thread once nothing is left that would keep a Node thread alive: after this turn. */
function endSoon(): void {
  setTimeout(() => end(0, undefined), 0);
}

// ---- the ports ----

/** The worker's own channel, as Node's `parentPort`. */
class ParentPort extends Emitter {
  private started = false;
  private waiting: unknown[] = [];

  postMessage(message: unknown, transfer?: readonly unknown[]): void {
    if (mirror !== undefined) mirror.postMessage(message, transfer);
    else scope.postMessage(message, transfer);
  }

  /** A message arrived: delivered once someone listens (a Node port starts with its first listener). */
  deliver(message: unknown): void {
    if (this.started) this.emit('message', message);
    else this.waiting.push(message);
  }

  protected override added(event: string): void {
    if (event !== 'message' || this.started) return;
    this.started = true;
    // Delivered in a later task, as Node delivers them: after the script's first turn.
    setTimeout(() => {
      for (const message of this.waiting.splice(0)) this.emit('message', message);
    }, 0);
  }

  ref(): void {}

  /** Node lets the thread exit once its port is unref'd and nothing else runs: so does this. */
  unref(): void {
    if (this.listenerCount('message') === 0) endSoon();
  }

  close(): void {
    endSoon();
  }

  start(): void {}
}

/** A port of a channel sent in `workerData` (an `inThread` stage's), with Node's methods. */
class NodePort extends Emitter {
  closed = false;

  constructor(readonly raw: BrowserPort) {
    super();
    raw.addEventListener('message', (event) => this.emit('message', event.data));
  }

  protected override added(event: string): void {
    if (event === 'message') this.raw.start();
  }

  postMessage(message: unknown, transfer?: readonly unknown[]): void {
    this.raw.postMessage(message, transfer);
  }

  /** The stage's last message has gone: the thread ends (the exit message follows on this port). */
  close(): void {
    endSoon();
  }

  ref(): void {}
  unref(): void {}
  start(): void {}
}

export const parentPort = new ParentPort();
let mirror: ThreadMirror | undefined;
let stagePort: NodePort | undefined;

// ---- start-up: the first message is the thread's data ----

const init = await new Promise<InitMessage>((resolve) => {
  let first = true;
  scope.addEventListener('message', (event: { data: unknown }) => {
    if (first) {
      first = false;
      resolve(event.data as InitMessage);
      return;
    }
    const message = mirror === undefined ? event.data : mirror.received(event.data);
    if (message !== undefined) parentPort.deliver(message);
  });
});

function isPort(value: unknown): value is BrowserPort {
  return typeof value === 'object' && value !== null && typeof (value as BrowserPort).start === 'function';
}

const data = init.data as Record<string, unknown>;
if (isPort(data.port)) {
  stagePort = new NodePort(data.port);
  data.port = stagePort;
}
if (needsMirror(data)) mirror = new ThreadMirror(data, (message, transfer) => scope.postMessage(message, transfer));

export const workerData: unknown = data;
export const threadId: number = init.threadId;
export const isMainThread = false;

/** A Web Worker cannot take a message without a turn of its event loop: there is never one waiting. */
export function receiveMessageOnPort(_port: unknown): undefined {
  return undefined;
}
