import { lastValueFrom, type Observable, of, range, toArray } from 'rxjs';
import { inThread, moduleTask, offloadToThread, type Task, TaskError, ThreadPool } from 'rxthreads';
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
// An untyped moduleTask is accepted as a stage; a typed one is checked against the source.
const untypedStage = moduleTask(new URL('./stages.cjs', import.meta.url), 'total');
const totals$: Observable<unknown> = range(1, 3).pipe(inThread(untypedStage));
const typedStage = moduleTask<Observable<number>, Observable<string>>(new URL('./stages.cjs', import.meta.url));
const labels$: Observable<string> = range(1, 3).pipe(inThread(typedStage));
// @ts-expect-error the stage takes numbers
of('a').pipe(inThread(typedStage));
console.log(n, squares, stats, isTaskError, totals$, labels$);
