import type { Transferable } from '../task/context';
import type { ClockReading } from '../util/clock';

/** Values in a backlog's first chunk: a subscription of a few values allocates a few slots. */
const firstChunkSize = 16;
/** Values per chunk at most: large enough to amortise the chunk, small enough to free memory as it drains. */
const chunkSize = 2048;

/**
 * A chunk of a backlog. Only the inputs take a slot each: a value's tag is the chunk's first tag plus
 * its place (a stream numbers its values one by one) unless a tag broke that run, and then `tags`
 * holds them all; clock readings are kept where they change (`Metrics.submitTime` shares one among
 * many values), so that a million waiting values hold 8 MB of the heap, not 24.
 */
class Chunk {
  readonly inputs: unknown[];
  transfers: (readonly Transferable[] | undefined)[] | undefined;
  firstTag = 0;
  tags: number[] | undefined;
  /** Where each reading starts (a place in the chunk, ascending), and the readings. */
  readonly timeAt: number[] = [];
  readonly timeOf: ClockReading[] = [];
  next: Chunk | undefined;

  constructor(readonly size: number) {
    this.inputs = new Array(size);
  }

  /** Writes the tag and time of the value at `at`, the next place after those written. */
  mark(at: number, time: ClockReading, tag: number): void {
    if (at === 0) {
      this.firstTag = tag;
    } else if (this.tags !== undefined) {
      this.tags[at] = tag;
    } else if (tag !== this.firstTag + at) {
      const tags = new Array<number>(this.size).fill(0);
      for (let n = 0; n < at; n++) tags[n] = this.firstTag + n;
      tags[at] = tag;
      this.tags = tags;
    }
    const readings = this.timeOf.length;
    if (readings === 0 || this.timeOf[readings - 1] !== time) {
      this.timeAt.push(at);
      this.timeOf.push(time);
    }
  }

  tagOf(at: number): number {
    return this.tags === undefined ? this.firstTag + at : this.tags[at]!;
  }

  /** Readied for reuse: every value was taken. */
  reset(): void {
    this.next = undefined;
    this.transfers = undefined;
    this.tags = undefined;
    this.timeAt.length = 0;
    this.timeOf.length = 0;
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
 * million waiting values cost about a pointer each, not an object and a closure each; a chunk is
 * let go of as soon as it has been read (no array copied as it grows or shrinks), and a
 * subscription of three values does not allocate room for thousands.
 */
export class Backlog {
  private first: Chunk | undefined;
  private last: Chunk | undefined;
  private readAt = 0;
  /** Which of the first chunk's readings the value at `readAt` has. */
  private readingAt = 0;
  private writeAt = 0;
  private nextSize = firstChunkSize;
  /** A full-size chunk read to its end, kept for the next: a long stream cycles through two, not thousands. */
  private spare: Chunk | undefined;
  length = 0;

  push(input: unknown, transfer: readonly Transferable[] | undefined, time: ClockReading, tag: number): void {
    const chunk = this.last === undefined || this.writeAt === this.last.size ? this.grow() : this.last;
    const at = this.writeAt++;
    chunk.inputs[at] = input;
    if (transfer !== undefined) {
      chunk.transfers ??= new Array(chunk.size);
      chunk.transfers[at] = transfer;
    }
    chunk.mark(at, time, tag);
    this.length++;
  }

  /** A chunk for the next values, at the end: out of `push`, which stays small enough to inline. */
  private grow(): Chunk {
    const chunk = this.nextSize === chunkSize && this.spare !== undefined ? this.spare : new Chunk(this.nextSize);
    if (chunk === this.spare) this.spare = undefined;
    this.nextSize = Math.min(chunkSize, this.nextSize * 2);
    if (this.last === undefined) this.first = chunk;
    else this.last.next = chunk;
    this.last = chunk;
    this.writeAt = 0;
    return chunk;
  }

  /** Takes the first value out and hands it to `make`; the queue must not be empty. */
  take<T>(
    make: (input: unknown, transfer: readonly Transferable[] | undefined, time: ClockReading, tag: number) => T,
  ): T {
    const chunk = this.first!;
    const at = this.readAt++;
    const made = make(chunk.inputs[at], chunk.transfers?.[at], this.readingOf(chunk, at), chunk.tagOf(at));
    chunk.inputs[at] = undefined;
    if (chunk.transfers !== undefined) chunk.transfers[at] = undefined;
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
    const made = make(values, this.readingOf(chunk, from), chunk.tagOf(from));
    this.readAt = end;
    this.taken(chunk, count);
    return made;
  }

  /** The reading of the value at `at` of the first chunk, read in order: `readingAt` follows them. */
  private readingOf(chunk: Chunk, at: number): ClockReading {
    const { timeAt, timeOf } = chunk;
    let n = this.readingAt;
    while (n + 1 < timeAt.length && timeAt[n + 1]! <= at) n++;
    this.readingAt = n;
    return timeOf[n]!;
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
      this.readingAt = 0;
      this.keep(chunk);
    }
  }

  clear(): void {
    this.first = this.last = undefined;
    this.readAt = 0;
    this.readingAt = 0;
    this.writeAt = 0;
    this.length = 0;
  }

  /** Keeps a full-size chunk whose every value was taken (and so cleared) for reuse. */
  private keep(chunk: Chunk): void {
    if (chunk.size !== chunkSize) return;
    chunk.reset();
    this.spare = chunk;
  }
}
