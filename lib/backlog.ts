import type { Transferable } from './context';
import type { ClockReading } from './metrics';

/** Values per chunk: large enough to amortise the chunk, small enough to free memory as it drains. */
const chunkSize = 2048;

class Chunk {
  readonly inputs: unknown[] = new Array(chunkSize);
  transfers: (readonly Transferable[] | undefined)[] | undefined;
  readonly times: (ClockReading | undefined)[] = new Array(chunkSize);
  readonly tags: number[] = new Array(chunkSize).fill(0);
  next: Chunk | undefined;
}

/**
 * A stream's waiting values, struct-of-arrays in fixed-size chunks: a million waiting values cost a
 * few pointers each, not an object and a closure each, and a chunk is let go of as soon as it has
 * been read (no array copied as it grows or shrinks).
 */
export class Backlog {
  private first: Chunk | undefined;
  private last: Chunk | undefined;
  private readAt = 0;
  private writeAt = chunkSize;
  /** One chunk read to its end, kept for the next: a long stream cycles through two, not thousands. */
  private spare: Chunk | undefined;
  length = 0;

  push(input: unknown, transfer: readonly Transferable[] | undefined, time: ClockReading, tag: number): void {
    if (this.writeAt === chunkSize) {
      const chunk = this.spare ?? new Chunk();
      this.spare = undefined;
      if (this.last === undefined) this.first = chunk;
      else this.last.next = chunk;
      this.last = chunk;
      this.writeAt = 0;
    }
    const chunk = this.last!;
    const at = this.writeAt++;
    chunk.inputs[at] = input;
    if (transfer !== undefined) {
      chunk.transfers ??= new Array(chunkSize);
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
    if (--this.length === 0) {
      this.clear();
      this.keep(chunk);
    } else if (this.readAt === chunkSize) {
      this.first = chunk.next;
      this.readAt = 0;
      this.keep(chunk);
    }
    return made;
  }

  /** Keeps a chunk whose every value was taken (and so cleared, but for its tags) for reuse. */
  private keep(chunk: Chunk): void {
    chunk.next = undefined;
    chunk.transfers = undefined;
    this.spare = chunk;
  }

  clear(): void {
    this.first = this.last = undefined;
    this.readAt = 0;
    this.writeAt = chunkSize;
    this.length = 0;
  }
}
