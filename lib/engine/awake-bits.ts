import { awakeWords, PoolInt, poolInts } from '../wire/words';

/**
 * Hands out the bits of the process's awake words (`PoolInt.Awake`), one to each pool thread as it
 * starts (`ThreadInit.awakeBit`), and takes each back once its thread has exited, cleared: a thread
 * that died awake (a crash, a terminate) would otherwise keep counting for ever.
 */
export class AwakeBits {
  private readonly free: number[] = [];

  /** @param words The words every pool thread of the process shares (`PoolInt`), the awake words among them. */
  constructor(readonly words: Int32Array) {
    for (let bit = 0; bit < awakeWords * 32; bit++) this.free.push(bit);
  }

  /** A bit for a new thread, or -1 if all are taken: that thread never spins. The longest free first. */
  take(): number {
    return this.free.shift() ?? -1;
  }

  /** The thread that had `bit` has exited (or never started): its bit is cleared, and free again. */
  release(bit: number): void {
    if (bit < 0) return;
    Atomics.and(this.words, PoolInt.Awake + (bit >> 5), ~(1 << (bit & 31)));
    this.free.push(bit);
  }
}

/** One for the process: a thread spinning for work leaves a core to any pool's threads (`IdleSpin`). */
export const awakeBits = new AwakeBits(new Int32Array(new SharedArrayBuffer(poolInts * Int32Array.BYTES_PER_ELEMENT)));
