/**
 * What both sides of a mirror (`mirror.ts`) share: the words of a thread held as typed arrays on
 * each side, the messages that carry words, and the slots a run or results message concerns.
 */
import { Header, Kind, Stride, slotOfJob, slotOfOutcome, type ThreadInit } from '../../../wire/thread';
import { realAtomics, wake } from './shared-memory';

/** First element of a message that carries words (engine messages start with a kind ≥ 0). */
export const syncTag = -1;

/**
 * The slots of a message's jobs or outcomes: a `run` message's (`Run`, packed `RunNumbers`), or a
 * `results` message's (`Results`, packed `ResultsNumbers`), by the kinds given; none for any other message.
 */
function slotsIn(message: unknown, flat: number, packed: number, slotOf: (code: number) => number): number[] {
  if (!Array.isArray(message)) return [];
  if (message[0] === packed) return Array.from(message[2] as Float64Array | Int32Array, slotOf);
  if (message[0] !== flat) return [];
  const slots: number[] = [];
  for (let i = Header; i < message.length; i += Stride) slots.push(slotOf(message[i] as number));
  return slots;
}

/** The slots a `run` message's jobs are in. */
export const runSlots = (message: unknown): number[] => slotsIn(message, Kind.Run, Kind.RunNumbers, slotOfJob);

/** The slots a `results` message's outcomes are for. */
export const resultSlots = (message: unknown): number[] =>
  slotsIn(message, Kind.Results, Kind.ResultsNumbers, slotOfOutcome);

/** Which array a word is in. */
export const Field = {
  State: 0,
  Int: 1,
  /** A difference to add (credit). */
  IntAdd: 2,
  Time: 3,
  RunTime: 4,
  WaitTime: 5,
  Counter: 6,
} as const;

interface StageData {
  readonly counters: ArrayBufferLike;
}

/** The typed arrays over one thread's words, as either side holds them. */
export class Words {
  readonly states?: Int32Array;
  readonly ints?: Int32Array;
  readonly times?: Float64Array;
  readonly runTime?: Float64Array;
  readonly waitTime?: Float64Array;
  readonly counters?: Int32Array;

  constructor(data: unknown) {
    const pool = data as Partial<ThreadInit>;
    if (pool.states !== undefined && pool.ints !== undefined && pool.times !== undefined) {
      this.states = new Int32Array(pool.states);
      this.ints = new Int32Array(pool.ints);
      this.times = new Float64Array(pool.times);
      if (pool.runTime !== undefined) this.runTime = new Float64Array(pool.runTime);
      if (pool.waitTime !== undefined) this.waitTime = new Float64Array(pool.waitTime);
    }
    const stage = data as Partial<StageData>;
    if (stage.counters !== undefined) this.counters = new Int32Array(stage.counters);
  }

  get slotCount(): number {
    return this.states?.length ?? 0;
  }

  /** Applies words from the other side; wakes whoever waits on a word that changed. */
  apply(words: readonly number[]): void {
    for (let i = 0; i < words.length; i += 3) {
      const field = words[i]!;
      const index = words[i + 1]!;
      const value = words[i + 2]!;
      switch (field) {
        case Field.State:
          realAtomics.store(this.states!, index, value);
          wake(this.states!, index);
          break;
        case Field.Int:
          realAtomics.store(this.ints!, index, value);
          wake(this.ints!, index);
          break;
        case Field.IntAdd:
          realAtomics.add(this.ints!, index, value);
          wake(this.ints!, index);
          break;
        case Field.Time:
          this.times![index] = value;
          break;
        case Field.RunTime:
          this.runTime![index] = value;
          break;
        case Field.WaitTime:
          this.waitTime![index] = value;
          break;
        case Field.Counter:
          realAtomics.store(this.counters!, index, value);
          wake(this.counters!, index);
          break;
      }
    }
  }
}

/** Whether a thread's data (its `workerData`) holds memory that is not shared: then it needs a mirror. */
export function needsMirror(data: unknown): boolean {
  const buffer = (data as Partial<ThreadInit>).states ?? (data as Partial<StageData>).counters;
  const Shared = (globalThis as { SharedArrayBuffer?: SharedArrayBufferConstructor }).SharedArrayBuffer;
  return buffer !== undefined && !(typeof Shared === 'function' && buffer instanceof Shared);
}

/** Collects words to send, and sends them at the end of the turn unless a message takes them first. */
export class Outgoing {
  private words: number[] = [];
  private scheduled = false;

  constructor(private readonly post: (message: unknown) => void) {}

  push(field: number, index: number, value: number): void {
    this.words.push(field, index, value);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** The words not sent yet, taken (to go with a message). */
  take(): number[] {
    const words = this.words;
    this.words = [];
    return words;
  }

  flush(): void {
    if (this.words.length > 0) this.post([syncTag, this.take()]);
  }
}
