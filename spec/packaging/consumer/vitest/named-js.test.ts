import { join } from 'node:path';
import { moduleTask, ThreadPool } from 'rxthreads';
import { test } from 'vitest';

test('runs a TypeScript task module named as its compiled .js', async () => {
  const pool = new ThreadPool({ size: 1 });
  let saw: unknown;
  try {
    // Only square.ts is here: no build wrote square.js.
    saw = await pool.run(moduleTask<number, number>(join(__dirname, 'square.js')), 3);
  } catch (error) {
    saw = `${(error as Error).name}: ${(error as Error).message}`;
  }
  await pool.close();
  process.stdout.write(`${JSON.stringify({ tsNamedJs: saw })}\n`);
}, 30_000);
