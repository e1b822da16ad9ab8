import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { interval, type Observable, range } from 'rxjs';
import { map } from 'rxjs/operators';
import { EventLoopThread, inThread, moduleTask, offloadToThread, runOnLoop, ThreadPool } from 'rxthreads';
import { fixture, osThreads, osThreadsDownTo, record, SharedCounters, scale } from '../helpers';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A task that counts its start (counter 0) and waits for its cancel. */
const waitForCancel = (input: { sab: SharedArrayBuffer }, ctx: { signal: AbortSignal }) =>
  new Promise((resolve) => {
    const v = new Int32Array(input.sab);
    Atomics.add(v, 0, 1);
    Atomics.notify(v, 0);
    if (ctx.signal.aborted) resolve(0);
    else ctx.signal.addEventListener('abort', () => resolve(0));
  });

describe('leaks', function () {
  this.timeout(120_000);

  const cycles = scale(10_000, 100_000);
  it(`leaves threads, listeners and heap where they were after ${cycles} subscribe/unsubscribe cycles mid-task`, async () => {
    const threadsBefore = osThreads();
    const pool = new ThreadPool({ size: 2 });
    const loop = new EventLoopThread();
    await Promise.all([pool.run((x: number) => x, 1), loop.submit((x: number) => x, 1)]);
    const counters = new SharedCounters();
    const listeners = () => [process.listenerCount('exit'), process.listenerCount('unhandledRejection')];
    const listenersBefore = listeners();
    const cycle = async (i: number) => {
      const started = counters.get(0);
      const operator =
        i % 2 === 0 ? offloadToThread(waitForCancel, { pool }) : runOnLoop(loop, waitForCancel, { concurrency: 2 });
      const sub = range(0, 3)
        .pipe(
          map(() => ({ sab: counters.buffer })),
          operator,
        )
        .subscribe();
      await counters.atLeast(started + 1); // a task is running inside a thread
      sub.unsubscribe();
    };
    for (let i = 0; i < 500; i++) await cycle(i); // warm up every cache first
    const heapBefore = heapAfterGc();
    const started = Date.now();
    for (let i = 0; i < cycles; i++) await cycle(i);
    record('subscribe/unsubscribe cycles mid-task', cycles);
    record('cycles per second', Math.round(cycles / ((Date.now() - started) / 1000)));
    expect(pool.stats()).to.include({ threads: 2 });
    // Every cancelled task has been acknowledged by its thread.
    const deadline = Date.now() + 2_000;
    while (pool.stats().busy > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(pool.stats()).to.include({ busy: 0, queued: 0 });
    expect(listeners()).to.deep.equal(listenersBefore);
    const grown = heapAfterGc() - heapBefore;
    expect(grown, `heap grew by ${grown} bytes`).to.be.lessThan(4 * 1024 * 1024);
    record('heap growth after the cycles (KiB, after GC)', Math.round(grown / 1024));
    await Promise.all([pool.close(), loop.close()]);
    await osThreadsDownTo(threadsBefore);
    record('OS threads after done, above the start', osThreads() - threadsBefore);
  });

  it('returns to its OS thread count after inThread subscriptions are unsubscribed mid-stream', async () => {
    const before = osThreads();
    const listenersBefore = [process.listenerCount('exit'), process.listenerCount('unhandledRejection')];
    const rounds = scale(20, 200);
    for (let i = 0; i < rounds; i++) {
      const seen = new SharedCounters();
      const sub = interval(1)
        .pipe(inThread(moduleTask<Observable<number>, Observable<number>>(fixture('stage-ops.cjs'), 'double')))
        .subscribe(() => seen.set(0, seen.get(0) + 1));
      await seen.atLeast(1); // the stage runs in its thread
      sub.unsubscribe();
    }
    await osThreadsDownTo(before);
    expect([process.listenerCount('exit'), process.listenerCount('unhandledRejection')]).to.deep.equal(listenersBefore);
    record('inThread subscriptions unsubscribed mid-stream', rounds);
  });
});
