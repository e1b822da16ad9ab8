/**
 * One memory case in a process of its own, so that its peak RSS is its own:
 * `memory-child.ts <case> <items> <threads>` prints { baseline, peak, sampledPeak, ms } as JSON.
 */
import { from, lastValueFrom, range, reduce } from 'rxjs';
import { offloadFrom, offloadToThread } from 'rxthreads';
import { check, nowMs } from './harness';
import { openRxthreads, peers, rxTask } from './peers';
import { RawPool } from './raw';
import { work } from './work';

function* numbers(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** `name`: sync, offloadToThread, offloadFrom, raw-batched, or a library's name. */
async function prepare(name: string, items: number, threads: number): Promise<() => Promise<number>> {
  const inc = rxTask<number, number>('inc');
  const total = reduce((a: number, b: number) => a + b, 0);
  if (name === 'sync') {
    return async () => {
      let s = 0;
      for (const x of numbers(items)) s += work.inc(x);
      return s;
    };
  }
  if (name === 'offloadToThread' || name === 'offloadFrom') {
    const pool = await openRxthreads(threads);
    await lastValueFrom(from(numbers(1000)).pipe(offloadToThread(inc, { pool })));
    return name === 'offloadToThread'
      ? () => lastValueFrom(range(0, items).pipe(offloadToThread(inc, { pool }), total))
      : () => lastValueFrom(offloadFrom(numbers(items), inc, { pool }).pipe(total));
  }
  if (name === 'raw-batched') {
    const pool = new RawPool(threads);
    await pool.ready();
    return async () => {
      const batches: Promise<number[]>[] = [];
      let batch: number[] = [];
      for (const x of numbers(items)) {
        batch.push(x);
        if (batch.length === 256) {
          batches.push(pool.batch(batch));
          batch = [];
        }
      }
      if (batch.length > 0) batches.push(pool.batch(batch));
      return sum((await Promise.all(batches)).map(sum));
    };
  }
  const lib = peers.find((peer) => peer.name === name);
  if (lib === undefined) throw new Error(`unknown memory case ${name}`);
  const peer = await lib.open(threads);
  await Promise.all(Array.from({ length: 1000 }, (_, i) => peer.call('inc', i)));
  return async () => sum(await Promise.all(Array.from(numbers(items), (x) => peer.call<number>('inc', x))));
}

async function main(): Promise<void> {
  const [name = '', itemsArg = '0', threadsArg = '1'] = process.argv.slice(2);
  const items = Number(itemsArg);
  const run = await prepare(name, items, Number(threadsArg));
  global.gc?.();
  const baseline = process.memoryUsage.rss();
  const maxBefore = process.resourceUsage().maxRSS * 1024;
  let sampledPeak = baseline;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  }, 5);
  const start = nowMs();
  check(await run(), (items * (items + 1)) / 2, name);
  const ms = nowMs() - start;
  clearInterval(sampler);
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  const maxAfter = process.resourceUsage().maxRSS * 1024;
  // The kernel's high-water mark counts only if the stream raised it above what start-up reached.
  const peak = maxAfter > maxBefore ? Math.max(maxAfter, sampledPeak) : sampledPeak;
  process.stdout.write(`${JSON.stringify({ baseline, peak, ms })}\n`);
  process.exit(0);
}

void main();
