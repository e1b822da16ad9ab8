import { optionError } from './options';

/**
 * The done future of an owner of threads: a promise that resolves once it has ended (never
 * rejects), and callbacks that run then. One implementation for the pool, the loop thread, the
 * remote pool and the task server.
 */
export class DoneFuture {
  readonly promise: Promise<void>;
  private resolvePromise!: () => void;
  /** `undefined` once done. */
  private callbacks: (() => void)[] | undefined = [];

  constructor() {
    this.promise = new Promise((resolve) => {
      this.resolvePromise = resolve;
    });
  }

  get isDone(): boolean {
    return this.callbacks === undefined;
  }

  /**
   * Calls `callback` once done, never synchronously from here. Each runs in a microtask of its own,
   * so one that throws is an uncaught exception (as from a timer) and does not stop the others.
   */
  onDone(callback: () => void): void {
    // Checked here, at the call: a non-function would only fail once done, as an uncaught exception.
    if (typeof callback !== 'function') throw optionError('callback', 'a function', callback);
    if (this.callbacks === undefined) queueMicrotask(callback);
    else this.callbacks.push(callback);
  }

  /** Ended: resolves the promise and runs the callbacks. Harmless when called again. */
  resolve(): void {
    const callbacks = this.callbacks;
    if (callbacks === undefined) return;
    this.callbacks = undefined;
    this.resolvePromise();
    for (const callback of callbacks) queueMicrotask(callback);
  }
}
