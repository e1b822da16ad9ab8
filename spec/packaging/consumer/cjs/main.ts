// A CommonJS TypeScript program (target es2016, moduleResolution node10), run under ts-node, under
// tsx and as tsc output. Task modules are named as compiled .js files.
import { join } from 'node:path';
import { lastValueFrom, range, toArray } from 'rxjs';
import { moduleTask, offloadToThread, ThreadPool } from 'rxthreads';
import type { TaskContext } from 'rxthreads/worker';

async function main(): Promise<void> {
  const pool = new ThreadPool({ size: 1 });
  const results: Record<string, unknown> = {};
  const attempt = async (name: string, work: () => Promise<unknown>): Promise<void> => {
    try {
      results[name] = await work();
    } catch (error) {
      results[name] = `${(error as Error).name}: ${(error as Error).message}`;
    }
  };
  await attempt('ts', () => pool.run(moduleTask<number, number>(join(__dirname, 'square.js')), 3));
  await attempt('cts', () => pool.run(moduleTask<number, number>(join(__dirname, 'cube.cjs')), 3));
  await attempt('mts', () => pool.run(moduleTask<number, number>(join(__dirname, 'half.mjs')), 3));
  await attempt('resolve', () => pool.run(moduleTask<number, number>(require.resolve('./square')), 4));
  await attempt('inlineNamed', () =>
    lastValueFrom(
      range(1, 3).pipe(
        offloadToThread(
          (n: number) => {
            const inc = (x: number) => x + 1;
            function twice(x: number): number {
              return x * 2;
            }
            return twice(inc(n));
          },
          { pool },
        ),
        toArray(),
      ),
    ),
  );
  await attempt('inlineAsync', () =>
    pool.run(async (n: number, ctx: TaskContext) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return ctx.aborted ? -1 : n * 10;
    }, 2),
  );
  await attempt('inlineImport', () =>
    pool.run(async (text: string) => {
      const { createHash } = await import('node:crypto');
      return createHash('sha256').update(text).digest('hex').slice(0, 8);
    }, 'a'),
  );
  await pool.close();
  console.log(JSON.stringify(results));
}

void main();
