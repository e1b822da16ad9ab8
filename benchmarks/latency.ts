/** 2. Round-trip latency of one task at a time: the next is sent only once the last is back. */
import { Subject } from 'rxjs';
import { offloadToThread, type ThreadPool } from 'rxthreads';
import { ChildCases } from './child';
import { roundTripTable } from './families';
import {
  type Bench,
  type Config,
  fmt,
  interleave,
  median,
  nowMs,
  percentile,
  type Section,
  type TimedCase,
} from './harness';
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
  steps: () => 8,
  async run(config, progress) {
    const contenders = latencyContenders(config);
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
          repeatTimes[at]!.push(...(await timeCalls(contender, call, Math.ceil(contender.calls / slices))));
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
    const alone = await aloneRows(config, contenders, slices);
    progress.tick('each alone');
    return report(rows, alone);
  },
};

/** `n` sequential calls, each timed (µs), its result checked. */
export async function timeCalls(contender: Contender, call: Call, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = nowMs();
    const out = await call(i);
    times.push((nowMs() - start) * 1000);
    if (out !== i + 1) throw new Error(`${contender.label}: wrong result ${out} for ${i}`);
  }
  return times;
}

type AloneReply = { type: 'ready' } | { type: 'done'; times?: number[] } | { type: 'error'; message: string };

/**
 * The same round trips with each contender alone in a process of its own (latency-child.ts), no
 * other library's pool open in it; the processes take turns as the contenders above do, the others
 * idle meanwhile. All but the main thread's row and threads.js (a millisecond a call).
 */
async function aloneRows(config: Config, contenders: readonly Contender[], slices: number): Promise<Row[]> {
  const chosen = contenders
    .map((contender, index) => ({ contender, index }))
    .filter(({ contender }) => !contender.label.startsWith('main') && !contender.label.startsWith('threads.js'));
  const children = chosen.map(
    ({ contender, index }) =>
      new ChildCases<AloneReply>(`latency, ${contender.label}`, 'latency-child.ts', [
        `${index}`,
        config.quick ? 'quick' : 'full',
        `${config.threads}`,
      ]),
  );
  try {
    for (const child of children) await child.first('ready');
    for (const child of children) await child.ask({ type: 'warm' });
    const rows: Row[] = chosen.map(({ contender: c }) => ({
      label: c.label,
      calls: c.calls,
      p50: [],
      p99: [],
      ours: c.ours,
    }));
    for (let repeat = 0; repeat < config.repeats; repeat++) {
      const times = chosen.map((): number[] => []);
      for (let turn = 0; turn < slices; turn++) {
        for (const [at, child] of children.entries()) {
          const reply = await child.ask({ type: 'run', calls: Math.ceil(chosen[at]!.contender.calls / slices) });
          if (reply.type === 'done') times[at]!.push(...(reply.times ?? []));
        }
      }
      for (const [at, own] of times.entries()) {
        rows[at]!.p50.push(median(own));
        rows[at]!.p99.push(percentile(own, 99));
      }
    }
    return rows;
  } finally {
    for (const child of children) await child.close();
  }
}

/** The contenders of this section, in the order its table lists them. */
export function latencyContenders(config: Pick<Config, 'quick' | 'threads'>): Contender[] {
  const calls = config.quick ? 300 : 2_000;
  // threads.js takes about 1 ms per round trip: fewer calls keep the run short.
  const fewer = config.quick ? 100 : 500;
  return [
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
}

export interface Contender {
  readonly label: string;
  readonly ours: boolean;
  readonly calls: number;
  open(): Promise<{ call: Call; close(): Promise<void> }>;
}

function report(rows: Row[], alone: Row[]): Section {
  const { table, base } = roundTripTable(rows, 'library');
  const { table: aloneTable } = roundTripTable(alone, 'library, alone in a process of its own');
  const lone = rows.find((row) => row.label.includes('lone'))!;
  const x = median(lone.p50) / base;
  return {
    name: 'latency',
    title: 'Round-trip latency, one task at a time',
    notes: [
      "Sequential calls of `x + 1` (the next sent once the last is back), after as many for warm-up; µs per round trip, the median over the repeats of each repeat's median and p99. All rows are open at once and take turns, a twentieth of a repeat's calls each, so that each meets the machine in the same states (a round trip here takes about 20 µs for a while, then about 80 µs).",
      "In one process, the turns leave most runs with each library's thread on the main thread's core (this machine's kernel packs a woken thread onto its waker's CPU while load is light; docs/performance.md): a round trip is then two context switches for every library. The second table runs the same calls with each library alone in a process of its own, no other pool open in it; the processes take turns the same way, the others idle meanwhile (threads.js, at a millisecond a call, is left out).",
    ],
    tables: [table, aloneTable],
    targets: [
      {
        label: 'a lone value through offloadToThread round-trips in no more time than one raw postMessage round trip',
        met: x <= 1,
        measured: `${fmt(median(lone.p50), 1)} µs vs ${fmt(base, 1)} µs = ${fmt(x, 2)}×`,
      },
    ],
  };
}
