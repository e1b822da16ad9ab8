/** The callbacks of one owner's tasks and streams that share one signal, and the one listener for them all. */
interface Watch {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const watchesByOwner = new WeakMap<object, Map<AbortSignal, Watch>>();

/**
 * Calls `callback` when `signal` aborts, with one 'abort' listener per signal and owner however many
 * tasks and streams share the signal (a listener each would pass Node's limit of 10 and warn).
 * Returns the function that unregisters it; the listener goes with the owner's last callback.
 */
export function watchSignal(owner: object, signal: AbortSignal, callback: () => void): () => void {
  let watches = watchesByOwner.get(owner);
  if (watches === undefined) {
    watches = new Map();
    watchesByOwner.set(owner, watches);
  }
  let watch = watches.get(signal);
  if (watch === undefined) {
    const callbacks = new Set<() => void>();
    const listener = (): void => {
      watches!.delete(signal);
      for (const each of [...callbacks]) each();
    };
    watch = { callbacks, listener };
    watches.set(signal, watch);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = watch;
  callbacks.add(callback);
  return () => {
    if (!callbacks.delete(callback) || callbacks.size > 0) return;
    watches!.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
