/**
 * One memory case in a process of its own, so that its peak RSS is its own:
 * `memory-child.ts <case> <items> <threads> [repeats]` prints as JSON { baseline, peak, ms } (RSS
 * in bytes before the run and at its peak; the run's duration) and { heapBaseline, heapPeak,
 * heapAfter } (V8 heap in use before, at the peak, and after a full collection once it is over).
 * With `repeats`, the rxthreads cases are warmed with their own pipeline, probe the heap every
 * 1,024 results (and right after a synchronous source has pushed everything), run untimed for
 * `warmMs` again, then run `repeats` more times, timed, as `times`.
 */
import { from, lastValueFrom, type MonoTypeOperatorFunction, range, reduce, tap } from 'rxjs';
import { offloadFrom, offloadToThread } from 'rxthreads';
import { check, nowMs } from './harness';
import { openRxthreads, peers, rxTask } from './peers';
import { RawPool } from './raw';
import { work } from './work';

function* numbers(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Reads the heap and RSS now and then while a run goes on. */
type Probe = () => void;

/**
 * `name`: sync, offloadToThread, offloadFrom, raw-batched, or a library's name. The run calls
 * `probe`, when given one, as often as it can without a timer. `warm`: the rxthreads cases first run
 * their own pipeline three times over 20,000 values (which also raises RSS to what that needs).
 */
async function prepare(
  name: string,
  items: number,
  threads: number,
  warm: boolean,
): Promise<(probe?: Probe) => Promise<number>> {
  const inc = rxTask<number, number>('inc');
  const total = reduce((a: number, b: number) => a + b, 0);
  const probing = (probe: Probe | undefined): MonoTypeOperatorFunction<number> => {
    if (probe === undefined) return (source) => source;
    let count = 0;
    return tap(() => {
      if ((++count & 1023) === 0) probe();
    });
  };
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
    const once =
      name === 'offloadToThread'
        ? (n: number, probe?: Probe) => {
            const result = lastValueFrom(range(0, n).pipe(offloadToThread(inc, { pool }), probing(probe), total));
            probe?.(); // the synchronous source has pushed every value by now
            return result;
          }
        : (n: number, probe?: Probe) =>
            lastValueFrom(offloadFrom(numbers(n), inc, { pool }).pipe(probing(probe), total));
    for (let i = 0; warm && i < 3; i++) await once(20_000);
    return (probe) => once(items, probe);
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

/** How long a timed case runs untimed (and at least twice) between its memory run and its timed runs. */
const warmMs = 1_000;

async function main(): Promise<void> {
  const [name = '', itemsArg = '0', threadsArg = '1', repeatsArg] = process.argv.slice(2);
  const items = Number(itemsArg);
  const repeats = repeatsArg === undefined ? undefined : Number(repeatsArg);
  const run = await prepare(name, items, Number(threadsArg), repeats !== undefined);
  const expected = (items * (items + 1)) / 2;
  global.gc?.();
  const { rss: baseline, heapUsed: heapBaseline } = process.memoryUsage();
  const maxBefore = process.resourceUsage().maxRSS * 1024;
  let sampledPeak = baseline;
  let heapPeak = heapBaseline;
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    sampledPeak = Math.max(sampledPeak, rss);
    heapPeak = Math.max(heapPeak, heapUsed);
  };
  const sampler = setInterval(sample, 5);
  const start = nowMs();
  check(await run(repeats === undefined ? undefined : sample), expected, name);
  const ms = nowMs() - start;
  clearInterval(sampler);
  sample();
  const maxAfter = process.resourceUsage().maxRSS * 1024;
  // The kernel's high-water mark counts only if the stream raised it above what start-up reached.
  const peak = maxAfter > maxBefore ? Math.max(maxAfter, sampledPeak) : sampledPeak;
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  // The full collections above discard optimized code, which a short stream takes many more runs
  // to have made again than a long one: timed at once, several of 20 runs of 10,000 values were
  // still slow where 2 of 5 of 1,000,000 were. Every size runs untimed for the same time first.
  const warmUntil = nowMs() + warmMs;
  for (let i = 0; repeats !== undefined && (i < 2 || nowMs() < warmUntil); i++) check(await run(), expected, name);
  // Timed runs, without a forced collection between them (see `interleave` in harness.ts).
  const times: number[] = [];
  for (let i = 0; i < (repeats ?? 0); i++) {
    const begin = nowMs();
    check(await run(), expected, name);
    times.push(nowMs() - begin);
  }
  process.stdout.write(`${JSON.stringify({ baseline, peak, ms, heapBaseline, heapPeak, heapAfter, times })}\n`);
  process.exit(0);
}

void main();
