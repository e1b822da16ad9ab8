// A pool thread that has run its last job spins a moment for the next message (lib/thread/idle-spin.ts).
// What must hold whatever the timing: the count of awake threads comes back to none once the pool
// is idle (a spin always ends), it counts a thread that runs a job, every message posted to the
// threads is counted, a thread that dies awake is taken out of the count (wherever it was stopped:
// a terminate lands anywhere), and work that arrives while a thread spins is done as any other.

import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { lastValueFrom, range, Subject, take, toArray } from 'rxjs';
import { moduleTask, offloadToThread, ThreadPool } from 'rxthreads';
import { fixture, SharedCounters } from '../helpers';

const dist = dirname(require.resolve('rxthreads'));
const { threadEngineOf } = require(join(dist, 'lib/owners/owner.js'));
const { PoolInt, awakeCount } = require(join(dist, 'lib/wire/words.js'));

type Input = { sab: SharedArrayBuffer; value: number };
const gated = moduleTask<Input, number>(fixture('tasks.cjs'), 'gated');
const gatedExit = moduleTask<Input, never>(fixture('tasks.cjs'), 'gatedExit');

function wordsOf(pool: ThreadPool): Int32Array {
  return threadEngineOf(pool).awakeBits.words;
}

/** The awake bits of a pool's live threads (the process's other pools may have threads awake too). */
function bitsOf(pool: ThreadPool): number[] {
  return threadEngineOf(pool).threads.map((thread: { awakeBit: number }) => thread.awakeBit);
}

/** How many of `bits` are set in the process's awake words. */
function awakeOf(words: Int32Array, bits: number[]): number {
  return bits.filter((bit) => (Atomics.load(words, PoolInt.Awake + (bit >> 5)) & (1 << (bit & 31))) !== 0).length;
}

/** Resolves once `test` holds, looking at each turn of the event loop (the mocha timeout bounds it). */
async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((resolve) => setImmediate(resolve));
}

describe('a pool thread waiting a moment for work', () => {
  let pool: ThreadPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('counts no thread awake once the pool is idle, and counts every message posted to its threads', async () => {
    pool = new ThreadPool({ size: 2 });
    const words = wordsOf(pool);
    const sum = await lastValueFrom(
      range(0, 20_000).pipe(
        offloadToThread((x: number) => x + 1, { pool }),
        toArray(),
      ),
    );
    expect(sum).to.have.length(20_000);
    expect(Atomics.load(words, PoolInt.Posted)).to.be.greaterThan(0);
    const bits = bitsOf(pool);
    expect(bits).to.have.length(2);
    await until(() => awakeOf(words, bits) === 0);
  });

  it('counts a thread awake while it runs a job', async () => {
    pool = new ThreadPool({ size: 2 });
    const words = wordsOf(pool);
    const counters = new SharedCounters();
    const running = pool.run(gated, { sab: counters.buffer, value: 7 });
    await counters.atLeast(1);
    const bits = bitsOf(pool);
    expect(awakeOf(words, bits)).to.equal(1);
    expect(awakeCount(words)).to.be.at.least(1);
    counters.set(2, 1);
    expect(await running).to.equal(7);
    await until(() => awakeOf(words, bits) === 0);
  });

  it('counts no thread awake once pools are terminated at random moments while their threads wake and spin', async function () {
    this.timeout(60_000);
    // The words are one for the process: any pool shows them (this one never starts a thread).
    pool = new ThreadPool({ size: 1 });
    const words = wordsOf(pool);
    const bits: number[] = [];
    for (let round = 0; round < 40; round++) {
      const doomed = new ThreadPool({ size: 2 });
      const input = new Subject<number>();
      let next = 0;
      // Lone values one after another: the threads keep waking, spinning and sleeping.
      const subscription = input.pipe(offloadToThread((x: number) => x + 1, { pool: doomed })).subscribe({
        next: () => input.next(next++),
        error: () => {},
      });
      input.next(next++);
      const turns = Math.floor(Math.random() * 200);
      for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
      bits.push(...bitsOf(doomed));
      await doomed.terminate();
      subscription.unsubscribe();
    }
    expect(bits.length).to.be.greaterThan(40);
    expect(awakeOf(words, bits)).to.equal(0);
  });

  it('takes a thread that dies while it runs a job out of the count of awake threads', async () => {
    pool = new ThreadPool({ size: 1 });
    const words = wordsOf(pool);
    const counters = new SharedCounters();
    const dying = pool.run(gatedExit, { sab: counters.buffer, value: 3 });
    await counters.atLeast(1);
    const [bit] = bitsOf(pool);
    expect(awakeOf(words, [bit!])).to.equal(1);
    counters.set(2, 1);
    expect(await dying.catch((error: Error) => error.name)).to.equal('WorkerCrashedError');
    await until(() => awakeOf(words, [bit!]) === 0);
    // The replacement thread runs, and counts itself, as any other, under a bit of its own.
    expect(await pool.run((x: number) => x + 1, 1)).to.equal(2);
    const bits = bitsOf(pool);
    expect(bits).to.have.length(1);
    expect(bits[0]).to.not.equal(bit);
    await until(() => awakeOf(words, bits) === 0);
  });

  it('runs lone values sent one after another, in order, each once', async () => {
    pool = new ThreadPool({ size: 2 });
    const input = new Subject<number>();
    const out: number[] = [];
    const done = lastValueFrom(
      input.pipe(
        offloadToThread((x: number) => x * 2, { pool }),
        take(500),
        toArray(),
      ),
    );
    let resolveNext: () => void = () => {};
    const sub = input.pipe(offloadToThread((x: number) => x, { pool })).subscribe((x) => {
      out.push(x);
      resolveNext();
    });
    for (let i = 0; i < 500; i++) {
      const next = new Promise<void>((resolve) => {
        resolveNext = resolve;
      });
      input.next(i);
      await next;
    }
    sub.unsubscribe();
    expect(await done).to.deep.equal(Array.from({ length: 500 }, (_, i) => i * 2));
    expect(out).to.deep.equal(Array.from({ length: 500 }, (_, i) => i));
  });
});
