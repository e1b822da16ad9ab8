import { lastValueFrom, of, toArray } from 'rxjs';
import { EventLoopThread, moduleTask, runOnLoop, ThreadPool } from 'rxthreads';
import { AbortError } from 'rxthreads/worker';

const pool = new ThreadPool({ size: 1 });
const nine = await pool.run(moduleTask(new URL('./task.cjs', import.meta.url)), 3);
await pool.close();
const loop = new EventLoopThread();
const doubled = await lastValueFrom(
  of(1, 2).pipe(
    runOnLoop(loop, async (x) => x * 2),
    toArray(),
  ),
);
await loop.close();
console.log(JSON.stringify({ nine, doubled, abort: new AbortError().name }));
