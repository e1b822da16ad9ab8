import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { Observable } from 'rxjs';
import { AbortError } from 'rxthreads';

/** Counters in shared memory: threads add to them, the spec reads and waits on them. */
export class SharedCounters {
  readonly buffer: SharedArrayBuffer;
  readonly view: Int32Array;

  constructor(size = 4) {
    this.buffer = new SharedArrayBuffer(size * 4);
    this.view = new Int32Array(this.buffer);
  }

  get(index = 0): number {
    return Atomics.load(this.view, index);
  }

  set(index: number, value: number): void {
    Atomics.store(this.view, index, value);
    Atomics.notify(this.view, index);
  }

  /** Waits (without blocking the event loop) until counter `index` is at least `value`. */
  async atLeast(value: number, index = 0, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = Atomics.load(this.view, index);
      if (now >= value) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`counter ${index} stayed at ${now}, expected >= ${value}`);
      // Short slices: a writer that forgets Atomics.notify costs milliseconds, not the timeout.
      await Atomics.waitAsync(this.view, index, now, Math.min(left, 20)).value;
    }
  }
}

/** Absolute path of a fixture module. */
export function fixture(name: string): string {
  return require.resolve(`./fixtures/${name}`);
}

/**
 * Lets the threads run for `ms` so that something that should not happen has the chance to.
 * Used only to show an absence (a cancelled value never starts); never to wait for an event.
 */
export function grace(ms = 150): Promise<void> {
  return sleep(ms);
}

/**
 * Whether OS thread `tid` of this process (Linux) is still alive. A worker's 'exit' event comes
 * once the thread is joined, but the kernel may not have removed the thread yet: on a busy machine
 * it can still be listed, already in its exit path (PF_EXITING, bit 0x4 of the flags field), which
 * runs no more code. Such a thread has exited for these specs.
 */
export function osThreadAlive(tid: number | string): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // After the command name in parentheses: state ppid pgrp session tty_nr tpgid flags …
  const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
  return (flags & 0x4) === 0;
}

/** The living OS threads of this process now (Linux), to see worker threads come and go. */
export function osThreads(): number {
  return readdirSync('/proc/self/task').filter((tid) => osThreadAlive(tid)).length;
}

/**
 * The OS threads that tasks ran on, noted by the tasks of spec/fixtures/tasks.cjs when their input
 * carries `osThreads: log.buffer`. Counting all of the process's threads would also count threads
 * that other specs' owners are still starting or ending; these ids are exactly an owner's own.
 */
export class OsThreadLog {
  readonly buffer = new SharedArrayBuffer(64 * 4);

  /** The ids noted so far. */
  ids(): number[] {
    return [...new Int32Array(this.buffer)].filter((tid) => tid !== 0);
  }

  /** The noted threads that still exist. */
  alive(): number[] {
    return this.ids().filter((tid) => osThreadAlive(tid));
  }
}

/** Waits until this process has at most `count` OS threads; returns how long it took (ms). */
export async function osThreadsDownTo(count: number, timeoutMs = 5_000): Promise<number> {
  const start = Date.now();
  while (osThreads() > count) {
    if (Date.now() - start > timeoutMs) throw new Error(`still ${osThreads()} OS threads, expected <= ${count}`);
    await sleep(5);
  }
  return Date.now() - start;
}

/** True under `npm run soak`: the reliability specs run longer. */
export const soaking = process.env.RXTHREADS_SOAK === '1';

/** A count for the fast suite, or the larger one for the soak. */
export function scale(fast: number, soak: number): number {
  return soaking ? soak : fast;
}

/** Records a figure for the soak report (docs/reliability.md), when the soak asked for one. */
export function record(name: string, value: number | string): void {
  const file = process.env.RXTHREADS_REPORT;
  if (file !== undefined) appendFileSync(file, `${JSON.stringify({ name, value })}\n`);
}

/**
 * For a stream whose source never completes: waits for `count` values, checks that it has not
 * completed, unsubscribes, and returns the values.
 */
export async function valuesWhileOpen<T>(output$: Observable<T>, count: number): Promise<T[]> {
  const seen: T[] = [];
  let ended = false;
  const sub = output$.subscribe({
    next: (v) => seen.push(v),
    error: () => (ended = true),
    complete: () => (ended = true),
  });
  const deadline = Date.now() + 10_000;
  while (seen.length < count && !ended && Date.now() < deadline) await sleep(5);
  sub.unsubscribe();
  if (ended) throw new Error('the stream ended although its source never completes');
  return seen;
}

/** Settles like `promise`, or with 'pending' if it has not settled within `ms`: for specs of "never hangs". */
export function within<T>(promise: Promise<T>, ms: number): Promise<PromiseSettledResult<T> | 'pending'> {
  return Promise.race([
    promise.then(
      (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
      (reason): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
    ),
    new Promise<'pending'>((done) => setTimeout(done, ms, 'pending').unref()),
  ]);
}

/** Subscribes, stops after `stopAfter` outputs if given, and reports what was seen. */
export function observe(out$: Observable<number>, stopAfter: number | undefined) {
  return new Promise<{ outputs: number[]; error?: unknown; how: 'complete' | 'error' | 'unsubscribed' }>((resolve) => {
    const outputs: number[] = [];
    if (stopAfter === 0) return resolve({ outputs, how: 'unsubscribed' });
    const sub = out$.subscribe({
      next: (value) => {
        outputs.push(value);
        if (outputs.length === stopAfter) {
          sub?.unsubscribe();
          resolve({ outputs, how: 'unsubscribed' });
        }
      },
      error: (error) => resolve({ outputs, error, how: 'error' }),
      complete: () => resolve({ outputs, how: 'complete' }),
    });
  });
}

/**
 * For the fault-injection properties: subscribes to a stream of settled entries, hands each to
 * `each`, and resolves how the stream ended: `'aborted'` by its signal (any other error fails the
 * spec), `'taken'` when `cutShort` (a take(n) that ends it before every input emitted), else
 * `'complete'`, once `allSettled()` has checked that every input has its outcome.
 */
export function settledEnd<T>(
  out$: Observable<T>,
  each: (entry: T) => void,
  cutShort: boolean,
  allSettled: () => void,
): Promise<'aborted' | 'taken' | 'complete'> {
  return new Promise<'aborted' | 'taken' | 'complete'>((resolve) => {
    out$.subscribe({
      next: each,
      error: (error: Error) => {
        expect(error, `a stream failed with ${error.name}: ${error.message}`).to.be.instanceOf(AbortError);
        resolve('aborted');
      },
      complete: () => resolve(cutShort ? 'taken' : 'complete'),
    });
  }).then((how) => {
    if (how === 'complete') allSettled();
    return how;
  });
}
