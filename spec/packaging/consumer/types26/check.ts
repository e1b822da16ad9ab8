// Type-checks against the newest @types/node, with skipLibCheck off.
import { moduleTask, ThreadPool, type Transferable } from 'rxthreads';
import type { TaskContext } from 'rxthreads/worker';

export function sum(values: number[], ctx: TaskContext): number {
  ctx.throwIfAborted();
  return values.reduce((a, b) => a + b, 0);
}

const bytes = new Uint8Array(4);
const list: Transferable[] = [bytes.buffer, new MessageChannel().port1];
// @ts-expect-error a string is not Transferable: the type must not have become `any`
const wrong: Transferable = 'text';
const pool = new ThreadPool({ size: 1 });
void pool.run(moduleTask<Uint8Array, number>('/abs/task.js'), bytes, { transfer: list });
console.log(wrong);
