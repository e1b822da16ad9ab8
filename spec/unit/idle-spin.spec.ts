import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { IdleSpin } from '../../lib/thread/idle-spin';
import { awakeCount, PoolInt, poolInts, ThreadInt, threadInts } from '../../lib/wire/words';

/** The spinning thread's bit in the awake words: in the second word, so that counting spans words. */
const ownBit = 37;

/** Whether the spinning thread's own bit is set. */
function ownBitSet(pool: Int32Array): boolean {
  return (Atomics.load(pool, PoolInt.Awake + 1) & (1 << (ownBit & 31))) !== 0;
}

function poolWords(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(poolInts * Int32Array.BYTES_PER_ELEMENT));
}

/** A thread's own words with no slot: the thread-wide ones alone. */
function threadWords(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(threadInts * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * A thread that, once `go` is set, posts (counts a message in `pool`): the main thread of a pool
 * as the spinning thread sees it. Synchronised by Atomics, not by time.
 */
function poster(pool: Int32Array, go: Int32Array): Worker {
  return new Worker(
    `const { workerData: { pool, go, posted } } = require('node:worker_threads');
     Atomics.wait(go, 0, 0);
     Atomics.add(pool, posted, 1);`,
    { eval: true, workerData: { pool, go, posted: PoolInt.Posted } },
  );
}

/**
 * A thread's spin over fresh pool words, woken from its event loop (so counted awake), with
 * `others` of the pool's other threads awake. Its spin time is long enough that only a post, or
 * one of its rules, can end a spin: another thread's wake-up takes what it takes.
 */
function wokenSpin(others = 0, spinBelow = 1): { pool: Int32Array; ints: Int32Array; spin: IdleSpin } {
  const pool = poolWords();
  const ints = threadWords();
  for (let bit = 0; bit < others; bit++) Atomics.or(pool, PoolInt.Awake, 1 << bit);
  const spin = new IdleSpin(
    { pool: pool.buffer as SharedArrayBuffer, ints: ints.buffer as SharedArrayBuffer, spinBelow, awakeBit: ownBit },
    60_000,
  );
  spin.woke();
  return { pool, ints, spin };
}

/** Lets at least `ms` pass, busy: a time that must have passed, not a time to wait for something. */
function pass(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('IdleSpin (a pool thread’s short wait for work)', () => {
  let threads: Worker[] = [];
  afterEach(async () => {
    await Promise.all(threads.map((thread) => thread.terminate()));
    threads = [];
  });

  it('takes a message posted while it spins, and counts the thread awake until it sleeps', () => {
    const { pool, spin } = wokenSpin();
    const go = new Int32Array(new SharedArrayBuffer(4));
    threads.push(poster(pool, go));
    expect(awakeCount(pool)).to.equal(1);
    let looks = 0;
    const arrived = () => {
      looks++;
      if (looks === 1) {
        // Nothing in the port yet: now let the other thread post, while this one spins.
        Atomics.store(go, 0, 1);
        Atomics.notify(go, 0);
        return false;
      }
      return true;
    };
    expect(spin.waitForWork(arrived, true)).to.equal(true);
    expect(looks).to.equal(2);
    expect(awakeCount(pool)).to.equal(1);
    expect(ownBitSet(pool), 'its own bit says it is awake').to.equal(true);
  });

  it('counts its spins in its own words while it spins, so that a poster can tell it runs', () => {
    const pool = poolWords();
    const ints = threadWords();
    const spin = new IdleSpin(
      {
        pool: pool.buffer as SharedArrayBuffer,
        ints: ints.buffer as SharedArrayBuffer,
        spinBelow: 1,
        awakeBit: ownBit,
      },
      2_000,
    );
    spin.woke();
    // Posts only once it has seen the count move: without the count, the spin would end in vain.
    threads.push(
      new Worker(
        `const { workerData: { pool, ints, spinsAt, posted } } = require('node:worker_threads');
         while (Atomics.load(ints, spinsAt) === 0);
         Atomics.add(pool, posted, 1);`,
        { eval: true, workerData: { pool, ints, spinsAt: ThreadInt.Spins, posted: PoolInt.Posted } },
      ),
    );
    let looks = 0;
    expect(spin.waitForWork(() => ++looks === 2, true)).to.equal(true);
    expect(Atomics.load(ints, ThreadInt.Spins)).to.be.greaterThan(0);
  });

  it('does not spin after a job it took spinning that the main thread did not wait for: it shares the main thread’s core', () => {
    const pool = poolWords();
    const handoff = { unwaited: true };
    const spin = new IdleSpin(
      {
        pool: pool.buffer as SharedArrayBuffer,
        ints: threadWords().buffer as SharedArrayBuffer,
        spinBelow: 1,
        awakeBit: ownBit,
      },
      60_000,
      handoff,
    );
    let looks = 0;
    const arrives = () => {
      looks++;
      return true;
    };
    // Woken from its event loop: not waited for says nothing of where it runs; it looks, and takes a job.
    spin.woke();
    expect(spin.waitForWork(arrives, true)).to.equal(true);
    expect(looks).to.equal(1);
    // That job was taken awake, and not waited for either: it sleeps at once, without a look.
    expect(spin.waitForWork(arrives, true)).to.equal(false);
    expect(looks).to.equal(1);
    expect(ownBitSet(pool)).to.equal(false);
    // Woken from its event loop again, it looks; and once its outcomes are waited for, a job taken awake is no sign either.
    spin.woke();
    expect(spin.waitForWork(arrives, true)).to.equal(true);
    handoff.unwaited = false;
    expect(spin.waitForWork(arrives, true)).to.equal(true);
    expect(looks).to.equal(3);
  });

  it('stops spinning when a message goes to another thread, and sleeps, no longer awake', () => {
    const { pool, spin } = wokenSpin();
    const go = new Int32Array(new SharedArrayBuffer(4));
    threads.push(poster(pool, go));
    let looks = 0;
    const arrived = () => {
      if (++looks === 1) {
        Atomics.store(go, 0, 1);
        Atomics.notify(go, 0);
      }
      return false; // the message was not this thread's
    };
    expect(spin.waitForWork(arrived, true)).to.equal(false);
    expect(looks).to.equal(2);
    expect(awakeCount(pool)).to.equal(0);
    expect(ownBitSet(pool)).to.equal(false);
  });

  it('does not wait after a run of jobs that held more than one value', () => {
    const { pool, spin } = wokenSpin();
    let looks = 0;
    expect(spin.waitForWork(() => ++looks > 0, false)).to.equal(false);
    expect(looks).to.equal(0);
    expect(awakeCount(pool)).to.equal(0);
  });

  it('takes a message that already waits without spinning', () => {
    const { spin } = wokenSpin();
    expect(spin.waitForWork(() => true, true)).to.equal(true);
  });

  it('does not spin while as many other threads as allowed are awake', () => {
    const { pool, spin } = wokenSpin(1); // another thread runs jobs
    let looks = 0;
    expect(spin.waitForWork(() => ++looks > 1, true)).to.equal(false);
    expect(looks).to.equal(1);
    expect(awakeCount(pool)).to.equal(1); // the other thread's bit; its own is cleared
    expect(ownBitSet(pool)).to.equal(false);
  });

  it('does not spin while the main thread is in a post, which may wait for its core, and counts no miss for it', () => {
    const { pool, spin } = wokenSpin();
    Atomics.store(pool, PoolInt.Posting, 1);
    let looks = 0;
    for (let i = 0; i < 2; i++) {
      expect(spin.waitForWork(() => ++looks > 0, true)).to.equal(false);
      expect(ownBitSet(pool)).to.equal(false); // asleep: its event loop takes the message
      spin.woke();
    }
    expect(looks).to.equal(0);
    Atomics.store(pool, PoolInt.Posting, 0);
    // Two skipped spins are not two spins in vain: it looks for work again.
    expect(spin.waitForWork(() => true, true)).to.equal(true);
  });

  it('after two spins in vain sleeps at once, and spins again once work comes back within its spin time', () => {
    const pool = poolWords();
    const spinMs = 2;
    const ints = threadWords().buffer as SharedArrayBuffer;
    const spin = new IdleSpin({ pool: pool.buffer as SharedArrayBuffer, ints, spinBelow: 1, awakeBit: ownBit }, spinMs);
    let looks = 0;
    const nothing = () => {
      looks++;
      return false;
    };
    for (let i = 0; i < 2; i++) {
      spin.woke();
      expect(spin.waitForWork(nothing, true)).to.equal(false);
      pass(10 * spinMs); // work comes back late: spinning would not have caught it
    }
    expect(looks).to.equal(2);
    spin.woke();
    expect(spin.waitForWork(nothing, true)).to.equal(false);
    expect(looks).to.equal(2); // slept at once, without a look
    // Work comes back at once, well within the spin time: it spins again.
    spin.woke();
    expect(spin.waitForWork(() => true, true)).to.equal(true);
    expect(awakeCount(pool)).to.equal(1);
  });

  it('never spins without shared memory, with a single core, or without a bit of its own', () => {
    const local = new Int32Array(poolInts);
    const unshared = new IdleSpin(
      {
        pool: local.buffer as unknown as SharedArrayBuffer,
        ints: new Int32Array(threadInts).buffer as unknown as SharedArrayBuffer,
        spinBelow: 1,
        awakeBit: ownBit,
      },
      60_000,
    );
    unshared.woke();
    expect(unshared.waitForWork(() => true, true)).to.equal(false);
    expect(local.every((word) => word === 0)).to.equal(true);
    const { pool, spin: oneCore } = wokenSpin(0, 0);
    expect(oneCore.waitForWork(() => true, true)).to.equal(false);
    expect(awakeCount(pool)).to.equal(0);
    const noBit = poolWords();
    const bitless = new IdleSpin(
      {
        pool: noBit.buffer as SharedArrayBuffer,
        ints: threadWords().buffer as SharedArrayBuffer,
        spinBelow: 1,
        awakeBit: -1,
      },
      60_000,
    );
    bitless.woke();
    expect(bitless.waitForWork(() => true, true)).to.equal(false);
    expect(awakeCount(noBit)).to.equal(0);
  });

  it('counts the bits set across the awake words', () => {
    const pool = poolWords();
    for (const bit of [0, 5, 31, 32, 63, 64, 100, 127]) Atomics.or(pool, PoolInt.Awake + (bit >> 5), 1 << (bit & 31));
    expect(awakeCount(pool)).to.equal(8);
    Atomics.store(pool, PoolInt.Posted, -1); // not an awake word
    expect(awakeCount(pool)).to.equal(8);
  });
});
