import type { ThreadEngine } from '../engine/engine';
import { warn } from '../engine/local/platform';

let warned = false;

// The registry holds the engine, never the owner: a pool that nobody references any more can be
// collected even though its (unref'd) threads are still running, and then we can say so.
const registry = new FinalizationRegistry<{ readonly executor: ThreadEngine; readonly kind: string }>(
  ({ executor, kind }) => {
    if (warned || !executor.isOpen || executor.threads.length === 0) return;
    warned = true;
    warn(
      `A ${kind} with ${executor.threads.length} live thread(s) was garbage-collected without close(): ` +
        'its threads stay alive until the process exits. Call close() (or use `await using`) when done with it, ' +
        'or share one pool (defaultPool()).',
      { type: 'RxthreadsWarning', code: 'RXTHREADS_LEAKED_POOL' },
    );
  },
);

/** Warns once per process when `owner` is collected while its threads still run, never closed. */
export function watchForLeak(owner: object, executor: ThreadEngine): void {
  registry.register(owner, { executor, kind: owner.constructor.name });
}
