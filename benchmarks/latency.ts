/** 2. Round-trip latency of one task at a time: the next is sent only once the last is back. */
import { Subject } from 'rxjs';
import { offloadToThread, type ThreadPool } from 'rxthreads';
import { roundTripTable } from './families';
import { type Bench, fmt, interleave, median, nowMs, percentile, type Section, type TimedCase } from './harness';
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
    const calls = config.quick ? 300 : 2_000;
    // threads.js takes about 1 ms per round trip: fewer calls keep the run short.
    const fewer = config.quick ? 100 : 500;
    const contenders: Contender[] = [
      {
        label: 'main thread (await of a sync call)',
        ours: false,
        calls,
        open: async () => ({
          call: async (x) => work.inc(x),
          close: async () => {},
        }),
      },
      {
        label: 'rxthreads offloadToThread (lone values)',
        ours: true,
        calls,
        open: async () => {
          const pool = await openRxthreads(config.threads);
          const lone = loneValues(pool);
          return {
            call: lone.call,
            close: async () => {
              lone.stop();
              await pool.close();
            },
          };
        },
      },
      {
        label: 'rxthreads pool.run',
        ours: true,
        calls,
        open: async () => {
          const pool = await openRxthreads(config.threads);
          const inc = rxTask<number, number>('inc');
          return { call: (x) => pool.run(inc, x), close: () => pool.close() };
        },
      },
      ...peers.map(
        (lib): Contender => ({
          label: lib === raw ? 'raw worker_threads (postMessage)' : lib.name,
          ours: false,
          calls: lib === threadsJs ? fewer : calls,
          open: async () => {
            const peer: Peer = await lib.open(config.threads);
            return { call: (x) => peer.call('inc', x), close: () => peer.close() };
          },
        }),
      ),
    ];
    // Every contender is open at once and they take turns, a slice of calls each: how fast a
    // sleeping thread wakes changes with what the machine does (here a round trip took about 20 µs
    // for minutes, then about 80 µs), and a row measured in one stretch would compare two
    // machines, not two libraries. Each repeat is `slices` turns of every contender.
    const slices = 20;
    const open = [];
    for (const contender of contenders) open.push({ contender, ...(await contender.open()) });
    const rows: Row[] = contenders.map((c) => ({ label: c.label, calls: c.calls, p50: [], p99: [], ours: c.ours }));
    const repeatTimes = contenders.map((): number[] => []);
    const cases = open.map(
      ({ contender, call }, at): TimedCase => ({
        label: contender.label,
        warm: async () => {
          for (let i = 0; i < contender.calls; i++) await call(i);
        },
        once: async () => {
          const times = repeatTimes[at]!;
          for (let i = 0, n = Math.ceil(contender.calls / slices); i < n; i++) {
            const start = nowMs();
            const out = await call(i);
            times.push((nowMs() - start) * 1000);
            if (out !== i + 1) throw new Error(`${contender.label}: wrong result ${out} for ${i}`);
          }
          return undefined;
        },
      }),
    );
    await interleave(cases, config.repeats * slices, (round) => {
      if (round === 0 || round % slices !== 0) return;
      for (const [at, times] of repeatTimes.entries()) {
        rows[at]!.p50.push(median(times));
        rows[at]!.p99.push(percentile(times, 99));
        times.length = 0;
      }
    });
    for (const { contender, close } of open) {
      await close();
      progress.tick(contender.label);
    }
    return report(rows);
  },
};

interface Contender {
  readonly label: string;
  readonly ours: boolean;
  readonly calls: number;
  open(): Promise<{ call: Call; close(): Promise<void> }>;
}

function report(rows: Row[]): Section {
  const { table, base } = roundTripTable(rows, 'library');
  const lone = rows.find((row) => row.label.includes('lone'))!;
  const x = median(lone.p50) / base;
  return {
    name: 'latency',
    title: 'Round-trip latency, one task at a time',
    notes: [
      "Sequential calls of `x + 1` (the next sent once the last is back), after as many for warm-up; µs per round trip, the median over the repeats of each repeat's median and p99. All rows are open at once and take turns, a twentieth of a repeat's calls each, so that each meets the machine in the same states (a round trip here takes about 20 µs for a while, then about 80 µs).",
    ],
    tables: [table],
    targets: [
      {
        label: 'a lone value through offloadToThread round-trips in no more time than one raw postMessage round trip',
        met: x <= 1,
        measured: `${fmt(median(lone.p50), 1)} µs vs ${fmt(base, 1)} µs = ${fmt(x, 2)}×`,
      },
    ],
  };
}
