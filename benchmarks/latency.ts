/** 2. Round-trip latency of one task at a time: the next is sent only once the last is back. */
import { Subject } from 'rxjs';
import { offloadToThread, type ThreadPool } from 'rxthreads';
import { type Bench, fmt, median, nowMs, percentile, type Section } from './harness';
import { openRxthreads, type Peer, peers, raw, rxTask, threadsJs } from './peers';
import { work } from './work';

interface Row {
  readonly label: string;
  readonly calls: number;
  /** Per repeat: the median and p99 round trip, in µs. */
  readonly p50: number[];
  readonly p99: number[];
  readonly ours: boolean;
}

type Call = (x: number) => Promise<number>;

/** A stream fed one value at a time, the case adaptive batching must not slow down. */
function loneValues(pool: ThreadPool): { call: Call; stop(): void } {
  const input = new Subject<number>();
  let resolve: (value: number) => void = () => {};
  const subscription = input
    .pipe(offloadToThread(rxTask<number, number>('inc'), { pool }))
    .subscribe((value) => resolve(value));
  return {
    call: (x) =>
      new Promise<number>((r) => {
        resolve = r;
        input.next(x);
      }),
    stop: () => subscription.unsubscribe(),
  };
}

export const latency: Bench = {
  name: 'latency',
  title: 'Round-trip latency, one task at a time',
  steps: () => 7,
  async run(config, progress) {
    const rows: Row[] = [];
    const measure = async (label: string, ours: boolean, call: Call, calls = config.quick ? 300 : 2_000) => {
      for (let i = 0; i < calls; i++) await call(i); // warm-up
      const row: Row = { label, calls, p50: [], p99: [], ours };
      for (let r = 0; r < config.repeats; r++) {
        const times: number[] = [];
        for (let i = 0; i < calls; i++) {
          const start = nowMs();
          const out = await call(i);
          times.push((nowMs() - start) * 1000);
          if (out !== i + 1) throw new Error(`${label}: wrong result ${out} for ${i}`);
        }
        row.p50.push(median(times));
        row.p99.push(percentile(times, 99));
      }
      rows.push(row);
      progress.tick(label);
    };

    await measure('main thread (await of a sync call)', false, async (x) => work.inc(x));
    let pool = await openRxthreads(config.threads);
    const lone = loneValues(pool);
    await measure('rxthreads offloadToThread (lone values)', true, lone.call);
    lone.stop();
    await pool.close();
    pool = await openRxthreads(config.threads);
    await measure('rxthreads pool.run', true, (x) => pool.run(rxTask<number, number>('inc'), x));
    await pool.close();
    for (const lib of peers) {
      const peer: Peer = await lib.open(config.threads);
      // threads.js takes about 1 ms per round trip: fewer calls keep the run short.
      const calls = lib === threadsJs ? (config.quick ? 100 : 500) : undefined;
      await measure(
        lib === raw ? 'raw worker_threads (postMessage)' : lib.name,
        false,
        (x) => peer.call('inc', x),
        calls,
      );
      await peer.close();
    }
    return report(rows);
  },
};

function report(rows: Row[]): Section {
  const rawRow = rows.find((row) => row.label.startsWith('raw'))!;
  const base = median(rawRow.p50);
  const lone = rows.find((row) => row.label.includes('lone'))!;
  const x = median(lone.p50) / base;
  return {
    name: 'latency',
    title: 'Round-trip latency, one task at a time',
    notes: [
      "Sequential calls of `x + 1` (the next sent once the last is back), after as many for warm-up; µs per round trip, the median over the repeats of each repeat's median and p99.",
    ],
    tables: [
      {
        head: ['library', 'calls', 'median µs', 'p99 µs', '× raw postMessage'],
        rows: rows.map((row) => [
          row.label,
          fmt(row.calls),
          fmt(median(row.p50), 1),
          fmt(median(row.p99), 1),
          `${fmt(median(row.p50) / base, 2)}×`,
        ]),
      },
    ],
    targets: [
      {
        label: 'a lone value through offloadToThread round-trips in no more time than one raw postMessage round trip',
        met: x <= 1,
        measured: `${fmt(median(lone.p50), 1)} µs vs ${fmt(base, 1)} µs = ${fmt(x, 2)}×`,
      },
    ],
  };
}
