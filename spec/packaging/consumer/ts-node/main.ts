// node -r ts-node/register main.ts, with TypeScript 6, type-checked: a CommonJS program and a
// TypeScript task module, named as its compiled .js.
import { join } from 'node:path';
import { moduleTask } from 'rxthreads';
import { pipelines } from '../shared/pipeline';

pipelines(moduleTask<number, number>(join(__dirname, 'square.js'))).then((saw) => console.log(JSON.stringify(saw)));
