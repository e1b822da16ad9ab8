import { lastValueFrom, range, toArray } from 'rxjs';
import { moduleTask, offloadToThread, type Task, TaskError, ThreadPool } from 'rxthreads';
import type { TaskContext } from 'rxthreads/worker';

// A task module written in TypeScript would look like this.
export function square(x: number, ctx: TaskContext): number {
  ctx.throwIfAborted();
  return x * x;
}

const squareTask: Task<number, number> = moduleTask<number, number>(new URL('./task.cjs', import.meta.url));
await using pool = new ThreadPool({ size: 1, cancelGraceMs: 50 });
const n: number = await pool.run(squareTask, 3);
// @ts-expect-error the task takes a number
await pool.run(squareTask, 'three');
const squares: number[] = await lastValueFrom(
  range(1, 3).pipe(
    offloadToThread((x: number) => x * x),
    toArray(),
  ),
);
const stats: { busy: number } = pool.stats();
const isTaskError = (e: unknown): boolean => e instanceof TaskError && e.cause.message.length > 0;
console.log(n, squares, stats, isTaskError);
