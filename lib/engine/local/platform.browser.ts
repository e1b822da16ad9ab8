/**
 * The browser platform (the browser build's `platform.ts`): each thread is a module Web Worker
 * started on a worker script this build carries as text (`browser/scripts.ts`), so neither a page
 * nor a bundler has a script file to find. The worker scripts are the same as on Node; what they
 * use of Node is given to them by `browser/thread-host.mts`.
 *
 * What a browser does not do by itself, done here: a worker's data goes as its first message; a
 * worker never exits by itself and its main thread hears of no exit, so the thread says when it
 * ends (after its last message) and a terminated one is reported ended at once; an uncaught error
 * in a worker ends it, as on Node, failing only the task it ran. Where memory cannot be shared (a
 * page that is not cross-origin isolated), `browser/mirror.ts` keeps each side's words in step.
 */
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import { optionError } from '../../util/options';
import type { RunMode, ThreadInit } from '../../wire/thread';
import type { PlatformChannel, PlatformPort, PlatformThread, ThreadListener, ThreadStart } from '../platform';
import { type ExitMessage, type InitMessage, isExitMessage } from './browser/host-messages';
import { MainMirror } from './browser/mirror';
import { needsMirror } from './browser/mirror-words';
import { browserScripts } from './browser/scripts';
import { sharedMemory } from './browser/shared-memory';
import type { WorkerSpawnOptions } from './worker-options';

interface BrowserWorker {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  terminate(): void;
  addEventListener(type: string, listener: (event: never) => void): void;
}
interface BrowserPort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start(): void;
  close(): void;
}
interface Browser {
  readonly Worker: new (url: string, options: { type: 'module'; name?: string }) => BrowserWorker;
  readonly Blob: new (parts: string[], options: { type: string }) => object;
  readonly URL: { createObjectURL(blob: object): string };
  readonly MessageChannel: new () => { port1: BrowserPort; port2: BrowserPort };
  readonly navigator?: { readonly hardwareConcurrency?: number };
}
const browser = globalThis as unknown as Browser;

/** Blob URLs of the worker scripts, made once each. */
const scriptUrls: { pool?: string; stage?: string } = {};

function scriptUrl(name: 'pool' | 'stage'): string {
  const known = scriptUrls[name];
  if (known !== undefined) return known;
  const source = browserScripts[name];
  if (source === undefined) {
    throw new Error(
      'This copy of rxthreads carries no worker script for a browser: it was not built (`npm run build`)',
    );
  }
  const url = browser.URL.createObjectURL(new browser.Blob([source], { type: 'text/javascript' }));
  scriptUrls[name] = url;
  return url;
}

/** Thread ids in this page, as `worker_threads.threadId` counts them in a process. */
let lastThreadId = 0;

/** The local end of each stage channel, by the end sent to the thread: a stage thread's exit comes on it. */
const stageEnds = new WeakMap<object, StagePort>();

/** The error a thread ended with, as it described it. */
function rebuild(described: ExitMessage['error']): Error | undefined {
  if (described === undefined) return undefined;
  const error = new Error(described.message);
  error.name = described.name;
  if (described.stack !== undefined) error.stack = described.stack;
  return error;
}

/** Starts a thread: a module worker on the script `start` names, its events sent to `listener`. */
export function spawnThread(start: ThreadStart, listener: ThreadListener): PlatformThread {
  const worker = new browser.Worker(scriptUrl(start.script), {
    type: 'module',
    name: start.name ?? `rxthreads ${start.script}`,
  });
  let exited = false;
  const exit = (code: number, error: Error | undefined): void => {
    if (exited) return;
    exited = true;
    worker.terminate();
    if (error !== undefined) listener.error(error);
    listener.exit(code);
  };
  const ended = (message: ExitMessage): void => exit(message.code, rebuild(message.error));
  const mirror = needsMirror(start.data)
    ? new MainMirror(start.data, (message, transfer) => worker.postMessage(message, transfer))
    : undefined;
  worker.addEventListener('message', (event: { data: unknown }) => {
    if (exited) return;
    const data = event.data;
    if (!Array.isArray(data) && isExitMessage(data)) {
      ended(data);
      return;
    }
    const message = mirror === undefined ? data : mirror.received(data);
    if (message !== undefined) listener.message(message);
  });
  // Errors the thread did not catch itself: its script failed to load or to start.
  worker.addEventListener('error', (event: { message?: string; preventDefault(): void }) => {
    event.preventDefault();
    exit(1, new Error(event.message || `The ${start.script} thread's script could not start`));
  });
  worker.addEventListener('messageerror', () => exit(1, new Error('A message from the thread could not be read')));
  for (const item of start.transfer ?? []) {
    const port = stageEnds.get(item as object);
    if (port !== undefined) port.ended = ended;
  }
  const init: InitMessage = { data: start.data, threadId: ++lastThreadId };
  worker.postMessage(init, start.transfer);
  return {
    postMessage: (message, transfer) => {
      if (mirror !== undefined) mirror.postMessage(message, transfer);
      else worker.postMessage(message, transfer);
    },
    // A page has no process to hold.
    ref: () => {},
    unref: () => {},
    terminate: () => {
      if (exited) return;
      worker.terminate();
      // As Node reports a terminated thread: exit code 1, in a later task.
      setTimeout(() => exit(1, undefined), 0);
    },
  };
}

/** A browser's MessagePort with the methods of {@link PlatformPort}; a stage thread's exit comes on it. */
class StagePort implements PlatformPort {
  ended: ((message: ExitMessage) => void) | undefined;

  constructor(private readonly port: BrowserPort) {}

  on(_event: 'message', listener: (message: unknown) => void): this {
    this.port.addEventListener('message', (event) => {
      if (!Array.isArray(event.data) && isExitMessage(event.data)) this.ended?.(event.data);
      else listener(event.data);
    });
    this.port.start();
    return this;
  }

  postMessage(message: unknown, transfer?: readonly unknown[]): void {
    this.port.postMessage(message, transfer);
  }

  close(): void {
    this.port.close();
  }
}

/** A message channel for a stage thread: a browser's, its local end seen as a {@link PlatformPort}. */
export function messageChannel(): PlatformChannel {
  const { port1, port2 } = new browser.MessageChannel();
  const local = new StagePort(port1);
  stageEnds.set(port2, local);
  return { local, remote: port2 as unknown as MessagePort };
}

/** A browser has no synchronous receive: a message is read only in a turn of the event loop. */
export function receiveNow(_port: PlatformPort): undefined {
  return undefined;
}

/** A page's main thread may not block: `inThread`'s `overflow: 'block'` buffers instead. */
export const canBlockCaller = false;

/** Cores the page's threads may use (2 if the browser does not say). */
export function coreCount(): number {
  return browser.navigator?.hardwareConcurrency ?? 2;
}

/** A pool's size when none is given: one thread per core, less one for the page, at least one. */
export function defaultThreadCount(): number {
  return Math.max(1, (browser.navigator?.hardwareConcurrency ?? 2) - 1);
}

/** Nothing to hand a thread: TypeScript task modules are for Node (a bundler compiles a page's). */
export function tsNodeInit(): ThreadInit['tsNode'] {
  return undefined;
}

/** A warning for the developer, in the console. */
export function warn(message: string, options: { readonly type: string; readonly code: string }): void {
  console.warn(`(${options.type} ${options.code}) ${message}`);
}

/**
 * Slots per thread: as many as asked where memory is shared. Where it is not, a pool thread takes
 * one job at a time, since the main thread cannot see when a thread starts a job it was handed
 * ahead of time (`browser/mirror.ts`); an event-loop thread starts every job as it arrives anyway.
 */
export function slotsPerThread(slots: number, mode: RunMode): number {
  return sharedMemory || mode === 'concurrent' ? slots : 1;
}

/**
 * Node's options of a worker thread have no meaning for a Web Worker: one given is a `TypeError`
 * rather than silently ignored.
 */
export function checkSpawnOptions(
  spawn: WorkerSpawnOptions,
  resourceLimits: ResourceLimits | undefined,
): WorkerSpawnOptions {
  const given = Object.entries({ ...spawn, resourceLimits }).find(([, value]) => value !== undefined);
  if (given !== undefined) {
    const [name, value] = given;
    const shown = Array.isArray(value) ? `[${value.map(String).join(', ')}]` : value;
    throw new TypeError(
      `${optionError(name, 'left out in a browser', shown).message}: it is an option of Node's worker threads, ` +
        'and Web Workers take none',
    );
  }
  return spawn;
}
