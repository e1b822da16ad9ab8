// tsx main.ts: an ES module program and a TypeScript task module, named as its compiled .js.
import { moduleTask } from 'rxthreads';
import { pipelines } from '../shared/pipeline';

const saw = await pipelines(moduleTask<number, number>(new URL('./square.js', import.meta.url)));
console.log(JSON.stringify(saw));
