/**
 * What one thread costs: start-up time and memory (docs/guide.md records the figures).
 * Run: `npm run build && npx ts-node benchmarks/thread-cost.ts`.
 *
 * - start-up: from `new EventLoopThread()` to `ready` (its loop runs), and from `new ThreadPool({ size: 1 })`
 *   to the result of a first, empty task; median of 20 of each, one at a time.
 * - memory: RSS of this process with 16 idle EventLoopThreads running, less before, divided by 16.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopThread, ThreadPool } from 'rxthreads';

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`);
  const loopStart: number[] = [];
  const poolFirst: number[] = [];
  for (let i = 0; i < 20; i++) {
    let start = performance.now();
    const loop = new EventLoopThread();
    await loop.ready;
    loopStart.push(performance.now() - start);
    await loop.close();
    start = performance.now();
    const pool = new ThreadPool({ size: 1 });
    await pool.run((x: number) => x, 1);
    poolFirst.push(performance.now() - start);
    await pool.close();
  }
  console.log(`EventLoopThread start-up (new → ready): median ${median(loopStart).toFixed(1)} ms`);
  console.log(`ThreadPool size 1, first task (new → result): median ${median(poolFirst).toFixed(1)} ms`);

  const count = 16;
  globalThis.gc?.();
  await sleep(100);
  const before = process.memoryUsage.rss();
  const loops = Array.from({ length: count }, () => new EventLoopThread());
  await Promise.all(loops.map((loop) => loop.ready));
  await sleep(200);
  const after = process.memoryUsage.rss();
  console.log(
    `memory: ${((after - before) / count / 1024 / 1024).toFixed(1)} MiB RSS per idle thread (${count} threads)`,
  );
  await Promise.all(loops.map((loop) => loop.close()));
}

void main();
