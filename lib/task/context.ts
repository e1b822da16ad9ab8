import type { FileHandle } from 'node:fs/promises';
import type { ReadableStream, TransformStream, WritableStream } from 'node:stream/web';
import type { MessagePort, Worker } from 'node:worker_threads';

/**
 * Something `postMessage` can move rather than copy: an ArrayBuffer, a MessagePort, …
 * (`ArrayBufferLike` is accepted so that `bytes.buffer` type-checks; a SharedArrayBuffer is shared,
 * never moved, and listing one fails with `SerializationError`.)
 *
 * @example
 * ```ts
 * const list: Transferable[] = [bytes.buffer];
 * ```
 */
// Spelled out rather than taken from @types/node, whose name for it (`TransferListItem`) is gone in
// later versions: these types compile against @types/node 20 and 26 alike.
export type Transferable =
  | ArrayBufferLike
  | MessagePort
  | FileHandle
  | ReadableStream
  | WritableStream
  | TransformStream;

/**
 * What a task receives as its second argument, inside the thread.
 *
 * @example
 * ```ts
 * import type { TaskContext } from 'rxthreads/worker';
 *
 * export default function sum(n: number, ctx: TaskContext): number {
 *   let total = 0;
 *   for (let i = 0; i < n; i++) {
 *     if ((i & 0xffff) === 0) ctx.throwIfAborted(); // a synchronous loop still sees a cancel
 *     total += i;
 *   }
 *   return total;
 * }
 * ```
 */
export interface TaskContext {
  /**
   * Aborted when the caller cancels this task (unsubscribe, an `AbortSignal`, an error in a
   * sibling), or when it runs past its `timeout` (then its `reason` is a `TimeoutError`).
   */
  readonly signal: AbortSignal;
  /** True once this task is cancelled. Read from shared memory: a synchronous loop sees it without yielding. */
  readonly aborted: boolean;
  /** Throws an `AbortError` if this task is cancelled. */
  throwIfAborted(): void;
  /** The `worker_threads` id of the thread running the task. */
  readonly threadId: number;
  /**
   * Marks a result whose listed buffers are moved back to the caller rather than copied.
   *
   * @example
   * ```ts
   * return ctx.transfer(bytes, [bytes.buffer]);
   * ```
   */
  transfer<T>(value: T, transferList: readonly Transferable[]): T;
  /**
   * Loads a module in the thread, as `import()` does: a Node built-in (`node:zlib`), a package
   * your project installs (resolved from where rxthreads is installed), or an absolute path or
   * `file:` URL. Inline tasks load
   * modules this way: test runners and bundlers (babel-jest, vitest, webpack) rewrite `import()`
   * into helpers that exist in the caller's process, not in a thread, and none rewrites this call.
   *
   * @example
   * ```ts
   * offloadToThread(async (text: string, ctx) => (await ctx.import('node:zlib')).gzipSync(text));
   * ```
   */
  // biome-ignore lint/suspicious/noExplicitAny: the module's shape is the caller's to name
  import<M = any>(specifier: string): Promise<M>;
}

/** A transfer list as `postMessage` types it: a SharedArrayBuffer listed here fails at runtime. */
export function transferList(list: readonly Transferable[] | undefined): PostMessageTransfer | undefined {
  return list as PostMessageTransfer | undefined;
}

/** The transfer list type of `postMessage`, whatever @types/node calls it. */
type PostMessageTransfer = Exclude<Parameters<Worker['postMessage']>[1], undefined>;
