import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { IdleSpin } from '../../lib/thread/idle-spin';
import { PoolInt, poolInts, ThreadInt, threadInts } from '../../lib/wire/words';

/** A thread's own Int32 fields (no slots: the thread-wide ones only). */
function threadWords(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(threadInts * Int32Array.BYTES_PER_ELEMENT));
}

function poolWords(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(poolInts * Int32Array.BYTES_PER_ELEMENT));
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
function wokenSpin(others = 0, spinBelow = 1): { pool: Int32Array; own: Int32Array; spin: IdleSpin } {
  const pool = poolWords();
  const own = threadWords();
  Atomics.store(pool, PoolInt.Awake, others);
  const spin = new IdleSpin(own, { pool: pool.buffer as SharedArrayBuffer, spinBelow }, 60_000);
  spin.woke();
  return { pool, own, spin };
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
    const { pool, own, spin } = wokenSpin();
    const go = new Int32Array(new SharedArrayBuffer(4));
    threads.push(poster(pool, go));
    expect(Atomics.load(pool, PoolInt.Awake)).to.equal(1);
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
    expect(Atomics.load(pool, PoolInt.Awake)).to.equal(1);
    expect(Atomics.load(own, ThreadInt.Awake), 'its own word says it is counted').to.equal(1);
  });

  it('stops spinning when a message goes to another thread, and sleeps, no longer awake', () => {
    const { pool, own, spin } = wokenSpin();
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
    expect(Atomics.load(pool, PoolInt.Awake)).to.equal(0);
    expect(Atomics.load(own, ThreadInt.Awake)).to.equal(0);
  });

  it('does not wait after a run of jobs that held more than one value', () => {
    const { pool, spin } = wokenSpin();
    let looks = 0;
    expect(spin.waitForWork(() => ++looks > 0, false)).to.equal(false);
    expect(looks).to.equal(0);
    expect(Atomics.load(pool, PoolInt.Awake)).to.equal(0);
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
    expect(Atomics.load(pool, PoolInt.Awake)).to.equal(1);
  });

  it('after two spins in vain sleeps at once, and spins again once work comes back within its spin time', () => {
    const pool = poolWords();
    const spinMs = 2;
    const spin = new IdleSpin(threadWords(), { pool: pool.buffer as SharedArrayBuffer, spinBelow: 1 }, spinMs);
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
    expect(Atomics.load(pool, PoolInt.Awake)).to.equal(1);
  });

  it('never spins without shared memory, or with a single core', () => {
    const local = new Int32Array(poolInts);
    const unshared = new IdleSpin(
      threadWords(),
      { pool: local.buffer as unknown as SharedArrayBuffer, spinBelow: 1 },
      60_000,
    );
    unshared.woke();
    expect(unshared.waitForWork(() => true, true)).to.equal(false);
    expect(local[PoolInt.Awake]).to.equal(0);
    const { pool, spin: oneCore } = wokenSpin(0, 0);
    expect(oneCore.waitForWork(() => true, true)).to.equal(false);
    expect(Atomics.load(pool, PoolInt.Awake)).to.equal(0);
  });
});
