/**
 * The callbacks a thread runs when it is closed gracefully (`close()` on its owner), registered with
 * `onThreadClose` from `rxthreads/worker`. They do not run on a crash or on `terminate()`.
 */
type CloseCallback = () => void | Promise<void>;

// Kept on the global object: a task module may load `rxthreads/worker` from another copy of the
// package (or as an ES module) than the thread's entry, and both must see one list.
const key = Symbol.for('rxthreads.onThreadClose');
const store = globalThis as unknown as Record<symbol, CloseCallback[] | undefined>;
store[key] ??= [];
const callbacks: CloseCallback[] = store[key];

/**
 * Registers a callback that runs when this thread is closed gracefully: after its tasks have
 * settled, before its event loop drains and it exits. Last registered runs first; each is awaited.
 * Call it at a task module's top level or inside a task. It does not run on a crash or `terminate()`.
 * Outside an rxthreads thread (a module the main thread imports too) it registers nothing that runs:
 * the main thread is not closed this way.
 *
 * @example
 * ```ts
 * import { onThreadClose } from 'rxthreads/worker';
 * const db = openDatabase();
 * onThreadClose(() => db.close());
 * ```
 */
export function onThreadClose(callback: () => void | Promise<void>): void {
  if (typeof callback !== 'function') {
    throw new TypeError(`Expected \`callback\` to be a function, got \`${String(callback)}\` (${typeof callback})`);
  }
  callbacks.push(callback);
}

/**
 * Runs the registered callbacks, last registered first, each awaited. A callback that throws is
 * reported through `report` and the others still run.
 */
export async function runCloseCallbacks(report: (error: unknown) => void): Promise<void> {
  while (callbacks.length > 0) {
    const callback = callbacks.pop()!;
    try {
      await callback();
    } catch (error) {
      report(error);
    }
  }
}
