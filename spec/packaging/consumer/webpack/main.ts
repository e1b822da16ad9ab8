import { moduleTask } from 'rxthreads';
import { pipelines } from '../shared/pipeline';

// webpack 5 recognises new URL('./file', import.meta.url): it emits square.mjs next to the bundle
// (under a hashed name) and puts that file's URL here.
pipelines(moduleTask<number, number>(new URL('./square.mjs', import.meta.url))).then((saw) =>
  console.log(JSON.stringify(saw)),
);
