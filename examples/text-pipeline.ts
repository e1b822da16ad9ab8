// A text-processing pipeline: the words of many files are counted on pool threads, and the
// counts are merged on the main thread. Run: npx ts-node examples/text-pipeline.ts [files...]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { from, lastValueFrom, map, reduce } from 'rxjs';
import { moduleTask, offloadToThread } from 'rxthreads';

export interface WordReport {
  files: number;
  words: number;
  distinct: number;
  /** The most frequent words, most frequent first (ties in alphabetical order). */
  top: [word: string, count: number][];
}

const countWords = moduleTask<string, Map<string, number>>(join(__dirname, 'tasks', 'words.ts'), 'countWords');

/** The README of every package in this project's node_modules: text that every install has. */
function readmes(): string[] {
  const root = join(__dirname, '..', 'node_modules');
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((path) => /^(@[^/]+\/)?[^/@.][^/]*\/readme\.md$/i.test(path))
    .map((path) => join(root, path))
    .sort();
}

function merge(total: Map<string, number>, counts: Map<string, number>): Map<string, number> {
  for (const [word, count] of counts) total.set(word, (total.get(word) ?? 0) + count);
  return total;
}

export function main(paths: string[] = readmes(), topN = 10): Promise<WordReport> {
  return lastValueFrom(
    from(paths).pipe(
      // `threads: 2`: the stage owns two threads, and completes only once both have exited.
      offloadToThread(countWords, { threads: 2, ordered: false }),
      reduce(merge, new Map<string, number>()),
      map((total) => {
        const sorted = [...total].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
        const words = sorted.reduce((sum, [, count]) => sum + count, 0);
        return { files: paths.length, words, distinct: total.size, top: sorted.slice(0, topN) };
      }),
    ),
  );
}

if (require.main === module) {
  const args = process.argv.slice(2);
  main(args.length > 0 ? args : undefined).then((report) => {
    console.log(`${report.files} files, ${report.words} words, ${report.distinct} distinct. Most frequent:`);
    for (const [word, count] of report.top) console.log(`  ${String(count).padStart(7)}  ${word}`);
  });
}
