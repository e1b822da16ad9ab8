import { threadId } from 'node:worker_threads';
import type { TaskContext, Transferable } from '../task/context';
import { AbortError } from '../util/errors';
import { markTransfer } from './outbox';
import { importModule } from './typescript';

/** A task's context in the thread; subclasses say where `aborted` is read from (shared memory). */
export abstract class ContextBase implements TaskContext {
  // A job of several values makes a context per value. `controller` and `reason` are declared, not
  // defined, so that a context carries them only once set (rarely: `signal` read, or a cancel),
  // and `threadId` is a getter: a value's context is 56 bytes, not 80.
  declare private controller: AbortController | undefined;
  /** Why the task was cancelled, if a cancel message said (a timeout); undefined until then. */
  declare private reason: Error | undefined;

  get threadId(): number {
    return threadId;
  }

  abstract get aborted(): boolean;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason ?? new AbortError());
    }
    return this.controller.signal;
  }

  throwIfAborted(): void {
    if (this.aborted) throw new AbortError();
  }

  transfer<T>(value: T, transferList: readonly Transferable[]): T {
    return markTransfer(value, transferList) as T;
  }

  import<M>(specifier: string): Promise<M> {
    return importModule(specifier) as Promise<M>;
  }

  /** Fires `signal` (a cancel message arrived), with an `AbortError` or the given reason. */
  abort(reason?: Error): void {
    this.reason ??= reason;
    if (this.controller !== undefined && !this.controller.signal.aborted) {
      this.controller.abort(this.reason ?? new AbortError());
    }
  }
}
