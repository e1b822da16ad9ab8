// A task module in TypeScript: each pool thread loads it once (through ts-node, since the caller
// runs under ts-node; a compiled .js file works the same without it).
import { readFile } from 'node:fs/promises';
import type { TaskContext } from 'rxthreads/worker';

/** Counts the words of one text file: lower-cased runs of letters, apostrophes inside words kept. */
export async function countWords(path: string, ctx: TaskContext): Promise<Map<string, number>> {
  const text = await readFile(path, { encoding: 'utf8', signal: ctx.signal });
  const counts = new Map<string, number>();
  for (const [word] of text.toLowerCase().matchAll(/\p{L}+(?:'\p{L}+)*/gu)) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
    if (counts.size % 4096 === 0) ctx.throwIfAborted(); // a big file still stops soon after a cancel
  }
  return counts; // a Map crosses back to the caller as a Map (structured clone)
}
