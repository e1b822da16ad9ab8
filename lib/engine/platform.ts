/**
 * The platform seam: what the engine asks of the platform it runs on to start a thread, talk to
 * it and end it. `lib/engine/local/platform.ts` implements it over Node's worker_threads;
 * `platform.browser.ts` beside it, over Web Workers: the browser build (`build.mjs`) takes that
 * file in its place, and the rest of the engine stays as it is. Besides `spawnThread`, the
 * platform module gives what else differs: the default pool size, a message channel for a stage,
 * a warning, and whether the caller's thread may block.
 */
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import type { Transferable } from '../task/context';
import type { WorkerSpawnOptions } from './local/worker-options';

/** A thread as the engine sees it, whatever the platform. */
export interface PlatformThread {
  /** Sends a message; throws (a `DataCloneError`) if it cannot be cloned, and then sends nothing. */
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  /** Holds the process while the thread has work (nothing to hold on a platform without a process). */
  ref(): void;
  unref(): void;
  /** Ends the thread at once. */
  terminate(): void;
}

/** What a thread tells the engine: its messages, its uncaught error, its exit. */
export interface ThreadListener {
  message(message: unknown): void;
  error(error: Error): void;
  exit(code: number): void;
}

/**
 * One end of a message channel (an `inThread` stage talks to its thread on one of its own): Node's
 * `MessagePort`, or a browser's seen through the same three methods.
 */
export interface PlatformPort {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  /** Sends a message; throws (a `DataCloneError`) if it cannot be cloned, and then sends nothing. */
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  close(): void;
}

/** A message channel: the end kept here, and the one sent to a thread (in its `transfer` list). */
export interface PlatformChannel {
  readonly local: PlatformPort;
  readonly remote: MessagePort;
}

/** Which script a thread starts with, and what it is given. */
export interface ThreadStart {
  /** `pool`: a pool or event-loop thread (thread/entry); `stage`: an `inThread` stage (thread/stage-entry). */
  readonly script: 'pool' | 'stage';
  /** Cloned to the thread (`workerData`). */
  readonly data: unknown;
  readonly transfer?: readonly Transferable[];
  readonly name?: string | undefined;
  readonly resourceLimits?: ResourceLimits | undefined;
  readonly worker?: WorkerSpawnOptions | undefined;
}
