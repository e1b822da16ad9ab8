/**
 * Main-loop delay on the caller's side while a fast asynchronous source feeds a slower inThread
 * stage (docs/inThread.md records the figures). Run: `npm run build && npx ts-node benchmarks/inthread-delay.ts`.
 *
 * The source emits a burst of 50 values every millisecond (50,000 a second); the stage takes
 * 100 µs a value (10,000 a second), so the values in flight reach `bufferSize` within the first
 * few milliseconds and stay there: with `overflow: 'block'` the caller's loop waits for the stage
 * again and again; with the default, `'buffer'`, the values wait on the caller's side instead.
 */
import { cpus } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { concat, mergeMap, type Observable, of, range, timer } from 'rxjs';
import { type InThreadOptions, inThread, moduleTask } from 'rxthreads';

const stage = moduleTask<Observable<number>, Observable<number>>(require.resolve('./workers/stage-slow.cjs'), 'slow');
const busyUs = 100;
const runMs = 2000;
const resolutionMs = 1;

async function measure(label: string, options: InThreadOptions<number> | 'source only'): Promise<void> {
  const source$ = concat(of(busyUs), timer(0, 1).pipe(mergeMap(() => range(0, 50))));
  let outputs = 0;
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  const output$ = options === 'source only' ? source$ : source$.pipe(inThread(stage, options));
  const subscription = output$.subscribe(() => outputs++);
  await sleep(200); // the thread starts
  histogram.enable();
  const elu = performance.eventLoopUtilization();
  await sleep(runMs);
  const busy = performance.eventLoopUtilization(elu).utilization;
  histogram.disable();
  subscription.unsubscribe();
  // The histogram records each timer interval whole; the delay is what exceeds the interval.
  const delay = (ns: number): string => Math.max(0, ns / 1e6 - resolutionMs).toFixed(2);
  console.log(
    `| ${label} | ${delay(histogram.percentile(50))} | ${delay(histogram.percentile(99))} | ${delay(histogram.max)} | ${outputs} | ${(busy * 100).toFixed(0)} % |`,
  );
  await sleep(300); // the thread exits
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log('| inThread options | p50 ms | p99 ms | max ms | outputs in 2.2 s | main-loop utilization |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  await measure('none: the source alone, for reference', 'source only');
  await measure("default (`overflow: 'buffer'`)", {});
  await measure("`overflow: 'block'`", { overflow: 'block' });
}

void main();
