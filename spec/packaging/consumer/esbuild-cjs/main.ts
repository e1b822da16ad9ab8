// One CommonJS file: esbuild main.ts --bundle --platform=node --format=cjs --loader:.task.mjs=file --outdir=dist
import { join } from 'node:path';
import { moduleTask } from 'rxthreads';
import { pipelines } from '../shared/pipeline';
// The file loader copies the task module into dist/ and gives its name there, relative to the bundle.
import squareFile from './square.task.mjs';

pipelines(moduleTask<number, number>(join(__dirname, squareFile))).then((saw) => console.log(JSON.stringify(saw)));
