import { moduleTask } from 'rxthreads';
import { test } from 'vitest';
import { pipelines } from '../shared/pipeline';

test('runs the pipeline on threads', async () => {
  // The thread loads a task module with Node, not through Vite's transform: a .mjs (or .js) file.
  const saw = await pipelines(moduleTask<number, number>(new URL('./square.mjs', import.meta.url)));
  process.stdout.write(`${JSON.stringify(saw)}\n`);
}, 30_000);
