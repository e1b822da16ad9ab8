// An ES module TypeScript program (module nodenext), run under tsx, node --loader ts-node/esm and
// as tsc output. Task modules are named as compiled .js files, next to this one.
import { lastValueFrom, of, toArray } from 'rxjs';
import { moduleTask, offloadToThread, ThreadPool } from 'rxthreads';

const pool = new ThreadPool({ size: 1 });
const results: Record<string, unknown> = {};
const attempt = async (name: string, work: () => Promise<unknown>): Promise<void> => {
  try {
    results[name] = await work();
  } catch (error) {
    results[name] = `${(error as Error).name}: ${(error as Error).message}`;
  }
};
await attempt('url', () => pool.run(moduleTask<number, number>(new URL('./square.js', import.meta.url)), 3));
await attempt('resolve', () => pool.run(moduleTask<number, number>(import.meta.resolve('./square.js')), 4));
await attempt('topLevelAwait', () =>
  pool.run(moduleTask<number, number>(new URL('./offset.js', import.meta.url), 'addOffset'), 1),
);
await attempt('mts', () => pool.run(moduleTask<number, number>(new URL('./half.mjs', import.meta.url)), 3));
await attempt('inlineNamed', () =>
  lastValueFrom(
    of(1, 2).pipe(
      offloadToThread(
        (n: number) => {
          const inc = (x: number) => x + 1;
          return inc(n);
        },
        { pool },
      ),
      toArray(),
    ),
  ),
);
await pool.close();
console.log(JSON.stringify(results));
