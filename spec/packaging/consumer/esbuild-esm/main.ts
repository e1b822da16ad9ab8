// One ES module file: esbuild main.ts square.mts --bundle --platform=node --format=esm --outdir=dist --out-extension:.js=.mjs
import { moduleTask } from 'rxthreads';
import { pipelines } from '../shared/pipeline';

// square.mts is a second entry point: esbuild writes it as dist/square.mjs, next to dist/main.mjs.
const saw = await pipelines(moduleTask<number, number>(new URL('./square.mjs', import.meta.url)));
console.log(JSON.stringify(saw));
