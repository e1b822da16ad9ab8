/**
 * The globals the worker scripts use of Node, for a Web Worker: `process` (its events, `exit()`,
 * `emitWarning()`) and `setImmediate` (a task after this one: a message to itself). The browser
 * build of the worker scripts takes these names from here (build.mjs injects them); how a thread
 * ends is `thread-host.mts`'s, which registers it with {@link onEnd}. Uncaught errors and
 * rejections end the thread, as on Node, unless an 'uncaughtException' listener takes them.
 */

interface WorkerScope {
  addEventListener(type: string, listener: (event: never) => void): void;
}
interface BrowserPort {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: () => void): void;
  start(): void;
}

const scope = globalThis as unknown as WorkerScope;
type Listener = (...args: unknown[]) => void;

/** A small event emitter with Node's names, for `process` and the ports. */
export class Emitter {
  private readonly listeners = new Map<string, Listener[]>();

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    this.added(event);
    return this;
  }

  addListener(event: string, listener: Listener): this {
    return this.on(event, listener);
  }

  once(event: string, listener: Listener): this {
    const once: Listener = (...args) => {
      this.off(event, once);
      listener(...args);
    };
    return this.on(event, once);
  }

  off(event: string, listener: Listener): this {
    const list = this.listeners.get(event) ?? [];
    const index = list.lastIndexOf(listener);
    if (index >= 0) this.listeners.set(event, [...list.slice(0, index), ...list.slice(index + 1)]);
    return this;
  }

  removeListener(event: string, listener: Listener): this {
    return this.off(event, listener);
  }

  listenerCount(event: string): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  emit(event: string, ...args: unknown[]): boolean {
    const list = this.listeners.get(event);
    if (list === undefined || list.length === 0) return false;
    for (const listener of list) listener(...args);
    return true;
  }

  protected added(_event: string): void {}
}

// ---- setImmediate: a task after this one ----

const immediates: (() => void)[] = [];
const tick = new (
  globalThis as unknown as { MessageChannel: new () => { port1: BrowserPort; port2: BrowserPort } }
).MessageChannel();
tick.port1.addEventListener('message', () => {
  for (const run of immediates.splice(0)) run();
});
tick.port1.start();

export function setImmediate<A extends unknown[]>(callback: (...args: A) => void, ...args: A): { cancelled: boolean } {
  const handle = { cancelled: false };
  immediates.push(() => {
    if (!handle.cancelled) callback(...args);
  });
  if (immediates.length === 1) tick.port2.postMessage(0);
  return handle;
}

export function clearImmediate(handle: { cancelled: boolean } | undefined): void {
  if (handle !== undefined) handle.cancelled = true;
}

// ---- process ----

/** How the thread ends (`thread-host.mts`): 'exit' listeners, its exit message, then `self.close()`. */
let ender: ((code: number, error: unknown) => void) | undefined;
let exiting = false;

export function onEnd(end: (code: number, error: unknown) => void): void {
  ender = end;
}

/** Ends the thread once: the 'exit' listeners run first, as on Node. */
export function end(code: number, error: unknown): void {
  if (exiting) return;
  exiting = true;
  try {
    process.emit('exit', code);
  } catch {
    // the thread ends all the same
  }
  ender?.(code, error);
}

class Process extends Emitter {
  readonly execArgv: string[] = [];
  readonly argv: string[] = [];
  readonly env: Record<string, string | undefined> = {};
  readonly platform = 'browser';
  exitCode: number | undefined;

  cwd(): string {
    return '/';
  }

  exit(code = this.exitCode ?? 0): void {
    end(code, undefined);
  }

  emitWarning(warning: string | Error): void {
    console.warn(typeof warning === 'string' ? warning : warning.stack);
  }
}

export const process = new Process();

// ---- uncaught errors end the thread, as on Node ----

function uncaught(error: unknown, event: { preventDefault(): void }): void {
  event.preventDefault();
  if (exiting) return;
  if (process.listenerCount('uncaughtException') > 0) {
    process.emit('uncaughtException', error);
    return;
  }
  try {
    process.emit('uncaughtExceptionMonitor', error);
  } finally {
    end(1, error);
  }
}

scope.addEventListener('error', (event: { error: unknown; message: string; preventDefault(): void }) =>
  uncaught(event.error ?? new Error(event.message), event),
);
scope.addEventListener('unhandledrejection', (event: { reason: unknown; preventDefault(): void }) =>
  uncaught(event.reason, event),
);
