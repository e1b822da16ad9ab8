/**
 * The messages between a Web Worker and the browser platform (`platform.browser.ts`), besides the
 * engine's own: the thread's data as its first message, and its exit, which a browser does not
 * report. Objects with a `hostKey`, where the engine's messages are arrays.
 */
export const hostKey = '__rxthreads_host__';
export const exitMessage = 'exit';

/** The first message a thread receives: what Node passes as `workerData`, and its id. */
export interface InitMessage {
  readonly data: unknown;
  readonly threadId: number;
}

/** The thread is ending (`code` 1: an uncaught error or rejection, described). */
export interface ExitMessage {
  readonly [hostKey]: typeof exitMessage;
  readonly code: number;
  readonly error: { readonly name: string; readonly message: string; readonly stack?: string | undefined } | undefined;
}

export function isExitMessage(data: unknown): data is ExitMessage {
  return typeof data === 'object' && data !== null && (data as Record<string, unknown>)[hostKey] === exitMessage;
}
