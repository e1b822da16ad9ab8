import { join } from 'node:path';
import { test } from '@jest/globals';
import { moduleTask } from 'rxthreads';
import { pipelines } from '../shared/pipeline';

test('runs the pipeline on threads', async () => {
  // The thread loads a task module with Node, not through jest's transform: a .mjs (or .js) file.
  const saw = await pipelines(moduleTask<number, number>(join(__dirname, 'square.mjs')));
  process.stdout.write(`${JSON.stringify(saw)}\n`);
}, 30_000);
