/**
 * Shared memory in a browser build: what its bundles see as `SharedArrayBuffer` and `Atomics`
 * (build.mjs injects both names into the browser bundles, main thread and worker scripts alike).
 *
 * A cross-origin isolated page (served with COOP and COEP headers) has SharedArrayBuffer: then
 * these are the real ones, and the engine runs exactly as on Node. A page that is not isolated
 * has none: `SharedArrayBuffer` is then `ArrayBuffer`, so each side of a thread holds its own copy
 * of the slot words (kept in step by messages, `mirror.ts`), and `Atomics`' waits on such memory
 * are waits for a local `notify` or a change that a message brings, since no other thread can
 * write it.
 */

interface Host {
  readonly SharedArrayBuffer?: SharedArrayBufferConstructor;
  readonly crossOriginIsolated?: boolean;
  readonly Atomics: typeof Atomics;
}
const host = globalThis as unknown as Host;
const realAtomics = host.Atomics;
const RealShared = host.SharedArrayBuffer;

/**
 * True where memory can be shared with threads: SharedArrayBuffer exists, the page is isolated, and
 * `Atomics.waitAsync` is there to wait on it (a browser without it takes the fallback).
 */
export const sharedMemory =
  typeof RealShared === 'function' &&
  host.crossOriginIsolated !== false &&
  typeof (realAtomics as { waitAsync?: unknown }).waitAsync === 'function';

/** The constructor the engine's `new SharedArrayBuffer(n)` calls: the real one, or `ArrayBuffer`. */
const SharedOrLocal = (sharedMemory ? RealShared : ArrayBuffer) as SharedArrayBufferConstructor;

/** Whether `buffer` is really shared memory. */
export function isShared(buffer: ArrayBufferLike): boolean {
  return typeof RealShared === 'function' && buffer instanceof RealShared;
}

/** What a mirror wants to hear of one buffer held in local memory. */
export interface BufferHook {
  /** A word was changed through `Atomics` (store, add, compare-and-swap, …). */
  changed?(index: number): void;
  /** Someone starts waiting on a word (`Atomics.waitAsync`). */
  waiting?(index: number): void;
}

const hooks = new WeakMap<ArrayBufferLike, BufferHook>();

/** Hooks a local (not shared) buffer: its mirror hears of changes and waits. */
export function hookBuffer(buffer: ArrayBufferLike, hook: BufferHook): void {
  hooks.set(buffer, hook);
}

type Waiter = { readonly index: number; readonly wake: (outcome: 'ok' | 'timed-out') => void };
const waiters = new WeakMap<ArrayBufferLike, Set<Waiter>>();

/** Wakes up to `count` local waiters on a word; returns how many. */
function wakeLocal(array: Waitable, index: number, count: number): number {
  const set = waiters.get(array.buffer);
  if (set === undefined) return 0;
  let woken = 0;
  for (const waiter of set) {
    if (woken >= count) break;
    if (waiter.index !== index) continue;
    set.delete(waiter);
    waiter.wake('ok');
    woken++;
  }
  return woken;
}

/** The engine waits on Int32 words only. */
type Waitable = Int32Array;
type WaitResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

function waitAsync(array: Waitable, index: number, value: number, timeout?: number): WaitResult {
  if (isShared(array.buffer)) return realAtomics.waitAsync(array, index, value, timeout);
  if (realAtomics.load(array, index) !== value) return { async: false, value: 'not-equal' };
  hooks.get(array.buffer)?.waiting?.(index);
  // The hook may have brought a change (a message applied at once).
  if (realAtomics.load(array, index) !== value) return { async: false, value: 'not-equal' };
  const ms = timeout === undefined || Number.isNaN(timeout) ? Number.POSITIVE_INFINITY : Math.max(0, timeout);
  if (ms === 0) return { async: false, value: 'timed-out' };
  let set = waiters.get(array.buffer);
  if (set === undefined) {
    set = new Set();
    waiters.set(array.buffer, set);
  }
  const own = set;
  const promise = new Promise<'ok' | 'timed-out'>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waiter: Waiter = {
      index,
      wake: (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      },
    };
    own.add(waiter);
    if (ms !== Number.POSITIVE_INFINITY) {
      timer = setTimeout(() => {
        own.delete(waiter);
        resolve('timed-out');
      }, ms);
    }
  });
  return { async: true, value: promise };
}

function notify(array: Waitable, index: number, count = Number.POSITIVE_INFINITY): number {
  if (isShared(array.buffer)) return realAtomics.notify(array, index, count);
  return wakeLocal(array, index, count);
}

/**
 * `Atomics.wait` on local memory: nothing else can change it while this thread blocks, so it
 * never blocks (the browser build never asks it to: a page's main thread may not block).
 */
function wait(array: Waitable, index: number, value: number, timeout?: number): string {
  if (isShared(array.buffer)) return realAtomics.wait(array, index, value, timeout);
  return realAtomics.load(array, index) !== value ? 'not-equal' : 'timed-out';
}

/** A change through Atomics to a hooked local buffer is reported; waiters on it are woken by the notify that follows. */
function changing<A extends unknown[], R>(op: (array: never, index: number, ...rest: A) => R) {
  return (array: Waitable, index: number, ...rest: A): R => {
    const result = op(array as never, index, ...rest);
    if (!isShared(array.buffer)) hooks.get(array.buffer)?.changed?.(index);
    return result;
  };
}

/** `Atomics` for memory that may be local: waits and notifies it serves itself, changes it reports. */
const localAtomics: typeof Atomics = Object.freeze(
  Object.assign(Object.create(realAtomics) as typeof Atomics, {
    wait,
    waitAsync,
    notify,
    store: changing(realAtomics.store),
    add: changing(realAtomics.add),
    sub: changing(realAtomics.sub),
    and: changing(realAtomics.and),
    or: changing(realAtomics.or),
    xor: changing(realAtomics.xor),
    exchange: changing(realAtomics.exchange),
    compareExchange: changing(realAtomics.compareExchange),
  }),
) as typeof Atomics;

/**
 * What the browser bundles call `Atomics`: where memory is shared, the real one, so that an
 * isolated page runs the engine exactly as Node does; elsewhere one that also serves local memory.
 */
const AtomicsOrLocal = sharedMemory ? realAtomics : localAtomics;

/** Wakes local waiters on a word after a message changed it (the mirror's own writes). */
export function wake(array: Int32Array, index: number): void {
  wakeLocal(array, index, Number.POSITIVE_INFINITY);
}

export { AtomicsOrLocal as Atomics, realAtomics, SharedOrLocal as SharedArrayBuffer };
