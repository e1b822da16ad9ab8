import type { Transferable } from '../task/context';
import type { ClockReading } from '../util/clock';

/** Values in a backlog's first chunk: a subscription of a few values allocates a few slots. */
const firstChunkSize = 16;
/** Values per chunk at most: large enough to amortise the chunk, small enough to free memory as it drains. */
const chunkSize = 2048;

class Chunk {
  readonly inputs: unknown[];
  transfers: (readonly Transferable[] | undefined)[] | undefined;
  readonly times: (ClockReading | undefined)[];
  readonly tags: number[];
  next: Chunk | undefined;

  constructor(readonly size: number) {
    this.inputs = new Array(size);
    this.times = new Array(size);
    this.tags = new Array(size).fill(0);
  }
}

/** Strings longer than this go as jobs of their own: a job of several values is cloned in one piece. */
const longString = 1024;

/** A value that may share a job with others: a primitive (a string not too long). */
export function travelsInValues(input: unknown): boolean {
  if (typeof input === 'string') return input.length <= longString;
  return input === null || (typeof input !== 'object' && typeof input !== 'function' && typeof input !== 'symbol');
}

/**
 * A stream's waiting values, struct-of-arrays in chunks that double from 16 to 2,048 values: a
 * million waiting values cost a few pointers each, not an object and a closure each; a chunk is
 * let go of as soon as it has been read (no array copied as it grows or shrinks), and a
 * subscription of three values does not allocate room for thousands.
 */
export class Backlog {
  private first: Chunk | undefined;
  private last: Chunk | undefined;
  private readAt = 0;
  private writeAt = 0;
  private nextSize = firstChunkSize;
  /** A full-size chunk read to its end, kept for the next: a long stream cycles through two, not thousands. */
  private spare: Chunk | undefined;
  length = 0;

  push(input: unknown, transfer: readonly Transferable[] | undefined, time: ClockReading, tag: number): void {
    if (this.last === undefined || this.writeAt === this.last.size) {
      const chunk = this.nextSize === chunkSize && this.spare !== undefined ? this.spare : new Chunk(this.nextSize);
      if (chunk === this.spare) this.spare = undefined;
      this.nextSize = Math.min(chunkSize, this.nextSize * 2);
      if (this.last === undefined) this.first = chunk;
      else this.last.next = chunk;
      this.last = chunk;
      this.writeAt = 0;
    }
    const chunk = this.last;
    const at = this.writeAt++;
    chunk.inputs[at] = input;
    if (transfer !== undefined) {
      chunk.transfers ??= new Array(chunk.size);
      chunk.transfers[at] = transfer;
    }
    chunk.times[at] = time;
    chunk.tags[at] = tag;
    this.length++;
  }

  /** Takes the first value out and hands it to `make`; the queue must not be empty. */
  take<T>(
    make: (input: unknown, transfer: readonly Transferable[] | undefined, time: ClockReading, tag: number) => T,
  ): T {
    const chunk = this.first!;
    const at = this.readAt++;
    const made = make(chunk.inputs[at], chunk.transfers?.[at], chunk.times[at]!, chunk.tags[at]!);
    chunk.inputs[at] = undefined;
    if (chunk.transfers !== undefined) chunk.transfers[at] = undefined;
    chunk.times[at] = undefined;
    this.taken(chunk, 1);
    return made;
  }

  /**
   * Takes up to `max` values from the front that may travel together as one job of several (no
   * transfer list, a small primitive each), and hands them to `make` in an array (a Float64Array if
   * all are numbers) with the first one's time and tag. Returns `undefined`, taking nothing, if fewer
   * than two such values come first.
   */
  takeValues<T>(
    max: number,
    make: (inputs: unknown[] | Float64Array, time: ClockReading, tag: number) => T,
  ): T | undefined {
    const chunk = this.first!;
    const from = this.readAt;
    const limit = Math.min(from + max, chunk === this.last ? this.writeAt : chunk.size);
    const { inputs, transfers } = chunk;
    let numbers = true;
    let end = from;
    for (; end < limit; end++) {
      if (transfers?.[end] !== undefined) break;
      const input = inputs[end];
      if (typeof input === 'number') continue;
      if (!travelsInValues(input)) break;
      numbers = false;
    }
    const count = end - from;
    if (count < 2) return undefined;
    const values = numbers ? new Float64Array(count) : new Array<unknown>(count);
    for (let n = 0; n < count; n++) {
      values[n] = inputs[from + n] as number;
      inputs[from + n] = undefined;
    }
    const made = make(values, chunk.times[from]!, chunk.tags[from]!);
    chunk.times.fill(undefined, from, end);
    this.readAt = end;
    this.taken(chunk, count);
    return made;
  }

  /** `count` values were read from the first chunk, `readAt` moved past them: lets go of what is read. */
  private taken(chunk: Chunk, count: number): void {
    this.length -= count;
    if (this.length === 0) {
      this.clear();
      this.keep(chunk);
    } else if (this.readAt === chunk.size) {
      this.first = chunk.next;
      this.readAt = 0;
      this.keep(chunk);
    }
  }

  clear(): void {
    this.first = this.last = undefined;
    this.readAt = 0;
    this.writeAt = 0;
    this.length = 0;
  }

  /** Keeps a full-size chunk whose every value was taken (and so cleared, but for its tags) for reuse. */
  private keep(chunk: Chunk): void {
    if (chunk.size !== chunkSize) return;
    chunk.next = undefined;
    chunk.transfers = undefined;
    this.spare = chunk;
  }
}
