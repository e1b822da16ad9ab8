import { moduleTask } from 'rxthreads';
import { pipelines } from '../shared/pipeline';

// square.ts is a second entry of the build (vite.config.js): dist/square.js, next to dist/main.js.
// (In an SSR build Vite leaves new URL(…, import.meta.url) as it is: it emits no asset for it.)
const saw = await pipelines(moduleTask<number, number>(new URL('./square.js', import.meta.url)));
console.log(JSON.stringify(saw));
