/**
 * 1. Throughput of trivial tasks (x + 1), each library with its pool of `threads` threads.
 *
 * Each baseline is the best of the configurations tried in the same run: piscina, workerpool,
 * threads.js and `pool.run` at several numbers of tasks in flight (and piscina's
 * `concurrentTasksPerWorker`, threads.js' `concurrency`), and the plain loop of raw messages with
 * plain or typed arrays, copied or moved, all at once or a few per worker at a time.
 */
import { lastValueFrom, range, reduce } from 'rxjs';
import { offloadToThread, type ThreadPool } from 'rxthreads';
import { ChildCases } from './child';
import { bestOf, bestPlainArrayLoop, casesData, configurationsTable, throughputLine } from './families';
import { type Bench, fmt, interleave, median, type Section, sig, type Table, type Target } from './harness';
import {
  allAtOnce,
  inFlight,
  type Library,
  openRxthreads,
  piscinaWith,
  raw,
  rxTask,
  threadsJsWith,
  workerpoolLib,
} from './peers';
import { type LoopKind, RawLoop, RawPool } from './raw';
import { work } from './work';

/** The configurations of one library or way, whose fastest is its baseline row. */
type Family = 'rxthreads pool.run' | 'piscina' | 'workerpool' | 'threads.js Pool' | 'raw loop';

export interface Case {
  readonly label: string;
  readonly family?: Family;
  /** The configuration, within its family. */
  readonly config?: string;
  readonly tasks: number;
  readonly ours: boolean;
  /** The row's label in the chart, if it has a bar there (rows of a family: its best has one). */
  readonly bar?: string;
  /** Runs every task once; resolves to the sum of the results. */
  readonly once: () => Promise<number>;
}

interface Measured extends Case {
  /** ms per round */
  readonly times: number[];
  readonly rate: number;
}

const inputs = (n: number) => Array.from({ length: n }, (_, i) => i);
/** The sum of the results of `x + 1` over 0 … n − 1. */
export const expected = (n: number) => (n * (n + 1)) / 2;
const inc = rxTask<number, number>('inc');

function viaStream(pool: ThreadPool, ordered: boolean, n: number): Promise<number> {
  return lastValueFrom(
    range(0, n).pipe(
      offloadToThread(inc, { pool, ordered }),
      reduce((sum, x) => sum + x, 0),
    ),
  );
}

async function promisesAlone(values: number[], batch: number): Promise<number> {
  const resolvers: ((value: number) => void)[] = [];
  const promises = values.map(() => new Promise<number>((resolve) => resolvers.push(resolve)));
  for (let i = 0; i < values.length; i += batch) {
    await new Promise((turn) => setImmediate(turn));
    for (let j = i; j < Math.min(values.length, i + batch); j++) resolvers[j]!(values[j]! + 1);
  }
  return (await Promise.all(promises)).reduce((a, b) => a + b, 0);
}

/** The sizes of the run: tasks per case, and the in-flight limits tried. */
function sizes(quick: boolean) {
  return {
    /** rxthreads' operators, the raw loops and the references. */
    stream: quick ? 20_000 : 200_000,
    /** A call (and a promise) per task: pool.run, piscina, one raw message per task. */
    perCall: quick ? 10_000 : 100_000,
    /** workerpool: its fastest configurations run about 30 tasks per ms. */
    workerpool: quick ? 5_000 : 20_000,
    /** threads.js: its default configuration runs about 1.5 tasks per ms. */
    threadsJs: quick ? 500 : 3_000,
    limits: {
      perCall: [1_000, 5_000, 20_000, 50_000],
      piscinaConcurrent: [
        [16, [1_000, 20_000]],
        [256, [1_000, 20_000]],
      ] as [number, number[]][],
      workerpool: [0, 100, 1_000, 5_000],
      threadsJs: [
        [8, [16]],
        [32, [64, 128, 1_000]],
      ] as [number, number[]][],
    },
  };
}

/** Each group runs in a process of its own (tiny-child.ts): one library, or one way of rxthreads. */
export const groups = [
  'references',
  'offloadToThread',
  'pool.run',
  'piscina',
  'workerpool',
  'threads.js',
  'raw',
] as const;
export type Group = (typeof groups)[number];

/** What a case is, without how to run it: what a group's process tells the parent. */
export type CaseInfo = Omit<Case, 'once'>;

/** Opens the pools of one group and makes its cases. */
export async function openGroup(
  group: Group,
  quick: boolean,
  threads: number,
): Promise<{ cases: Case[]; close(): Promise<void> }> {
  const size = sizes(quick);
  const cases: Case[] = [];
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers) await closer();
  };
  const values = new Map<number, number[]>();
  const valuesOf = (n: number) => values.get(n) ?? values.set(n, inputs(n)).get(n)!;
  const add = (c: Omit<Case, 'ours'> & { ours?: boolean }) => cases.push({ ours: false, ...c });
  const below = (limits: number[], tasks: number) => limits.filter((limit) => limit < tasks);
  /** A library's calls, at each limit in flight below `tasks` and then all at once. */
  const addCalls = (
    family: Family,
    name: string,
    call: (x: number) => Promise<number>,
    tasks: number,
    limits: number[],
    ours = false,
  ) => {
    const all = valuesOf(tasks);
    for (const limit of below(limits, tasks)) {
      const config = `${fmt(limit)} in flight`;
      add({ label: `${name}, ${config}`, family, config, tasks, ours, once: () => inFlight(call, all, limit) });
    }
    const config = `all ${fmt(tasks)} at once`;
    add({ label: `${name}, ${config}`, family, config, tasks, ours, once: () => allAtOnce(call, all) });
  };
  const open = async (lib: Library) => {
    const peer = await lib.open(threads);
    closers.push(() => peer.close());
    return (x: number) => peer.call<number>('inc', x);
  };
  const n = size.stream;

  switch (group) {
    case 'references': {
      add({
        label: 'main thread (sync loop)',
        tasks: n,
        once: async () => {
          let sum = 0;
          for (const x of valuesOf(n)) sum += work.inc(x);
          return sum;
        },
      });
      // What any API that returns a promise per task (pool.run, piscina, workerpool) cannot go
      // below on this machine: the promises alone, resolved 256 at a time as if results came in
      // batches.
      add({
        label: 'promises alone, no thread (256 resolved per turn)',
        bar: 'promises alone, no thread',
        tasks: n,
        once: () => promisesAlone(valuesOf(n), 256),
      });
      break;
    }
    case 'offloadToThread': {
      for (const ordered of [true, false]) {
        const pool = await openRxthreads(threads);
        closers.push(() => pool.close());
        const label = `rxthreads offloadToThread (${ordered ? 'ordered' : 'unordered'})`;
        add({ label, bar: label, tasks: n, ours: true, once: () => viaStream(pool, ordered, n) });
      }
      break;
    }
    case 'pool.run': {
      const pool = await openRxthreads(threads);
      closers.push(() => pool.close());
      const call = (x: number) => pool.run(inc, x);
      addCalls('rxthreads pool.run', 'rxthreads pool.run', call, size.perCall, size.limits.perCall, true);
      break;
    }
    case 'piscina': {
      addCalls('piscina', 'piscina', await open(piscinaWith()), size.perCall, size.limits.perCall);
      const all = valuesOf(size.perCall);
      for (const [concurrentTasksPerWorker, limits] of size.limits.piscinaConcurrent) {
        const call = await open(piscinaWith({ concurrentTasksPerWorker }));
        for (const limit of below(limits, size.perCall)) {
          const config = `concurrentTasksPerWorker ${concurrentTasksPerWorker}, ${fmt(limit)} in flight`;
          add({
            label: `piscina (${config})`,
            family: 'piscina',
            config,
            tasks: size.perCall,
            once: () => inFlight(call, all, limit),
          });
        }
      }
      break;
    }
    case 'workerpool': {
      // 0 stands for one task in flight per thread.
      const limits = size.limits.workerpool.map((limit) => (limit === 0 ? threads : limit));
      addCalls('workerpool', 'workerpool', await open(workerpoolLib), size.workerpool, limits);
      break;
    }
    case 'threads.js': {
      const all = valuesOf(size.threadsJs);
      const byDefault = await open(threadsJsWith());
      add({
        label: `threads.js Pool, all ${fmt(size.threadsJs)} at once`,
        family: 'threads.js Pool',
        config: `concurrency 1 (default), all ${fmt(size.threadsJs)} at once`,
        tasks: size.threadsJs,
        once: () => allAtOnce(byDefault, all),
      });
      for (const [concurrency, limits] of size.limits.threadsJs) {
        const call = await open(threadsJsWith({ concurrency }));
        for (const limit of below(limits, size.threadsJs)) {
          const config = `concurrency ${concurrency}, ${fmt(limit)} in flight`;
          add({
            label: `threads.js Pool (${config})`,
            family: 'threads.js Pool',
            config,
            tasks: size.threadsJs,
            once: () => inFlight(call, all, limit),
          });
        }
      }
      break;
    }
    case 'raw': {
      const perTask = await open(raw);
      add({
        label: 'raw worker_threads, 1 message per task',
        bar: 'raw, 1 message per task',
        tasks: size.perCall,
        once: () => allAtOnce(perTask, valuesOf(size.perCall)),
      });
      const rawPool = new RawPool(threads);
      await rawPool.ready();
      closers.push(() => rawPool.close());
      add({
        label: 'raw worker_threads, 256 values per message, a promise per message (former baseline)',
        bar: 'raw, a promise per 256 values (former)',
        tasks: n,
        once: async () => {
          const all = valuesOf(n);
          const batches: Promise<number[]>[] = [];
          for (let i = 0; i < all.length; i += 256) batches.push(rawPool.batch(all.slice(i, i + 256)));
          return (await Promise.all(batches)).flat().reduce((a, b) => a + b, 0);
        },
      });
      const loops = new Map<LoopKind, RawLoop>();
      for (const kind of ['Array', 'Float64Array', 'Float64Array, transferred'] as const) {
        const loop = new RawLoop(threads, kind);
        await loop.ready();
        closers.push(() => loop.close());
        loops.set(kind, loop);
        for (const perWorker of [Number.POSITIVE_INFINITY, 2, 8]) {
          const config = `${kind}, 256 per message, ${perWorker === Number.POSITIVE_INFINITY ? 'all at once' : `${perWorker} per worker in flight`}`;
          add({
            label: `raw loop (${config})`,
            family: 'raw loop',
            config,
            tasks: n,
            once: () => loop.run(valuesOf(n), 256, perWorker),
          });
        }
      }
      // Not baselines: how the limit moves with larger messages than rxthreads sends (at most 256
      // results per message).
      for (const kind of ['Array', 'Float64Array'] as const) {
        add({
          label: `raw loop (${kind}, 1,024 per message, all at once; larger messages, not a baseline)`,
          tasks: n,
          once: () => loops.get(kind)!.run(valuesOf(n), 1_024),
        });
      }
      break;
    }
  }
  return { cases, close };
}

/** Warm-up of a case: runs until it has run for `warmMs` in all (at least once, at most 20 times). */
export const warmMs = 1_000;

/**
 * In a round, a case runs untimed for this long (at least once) before its timed run. Each group's
 * process sits idle while the other groups run (30-40 s), and its first runs after that are slower,
 * up to 2×, until it has been busy for about a tenth of a second: with a single untimed run, a
 * group of two cases (rxthreads' operators) met its timed runs less awake than a group of twelve
 * (the raw loop). See docs/performance.md.
 */
export const settleMs = 300;

type Reply = { type: 'cases'; cases: CaseInfo[] } | { type: 'done'; ms?: number } | { type: 'error'; message: string };

/** A group's process (tiny-child.ts), asked one thing at a time. */
class GroupProcess {
  private readonly child: ChildCases<Reply>;

  constructor(group: Group, quick: boolean, threads: number) {
    this.child = new ChildCases(`tiny-task group ${group}`, 'tiny-child.ts', [
      group,
      quick ? 'quick' : 'full',
      `${threads}`,
    ]);
  }

  async cases(): Promise<CaseInfo[]> {
    const reply = await this.child.first('cases');
    return reply.type === 'cases' ? reply.cases : [];
  }

  async ask(message: { type: 'run' | 'warm'; index: number }): Promise<number | undefined> {
    const done = await this.child.ask(message);
    return done.type === 'done' ? done.ms : undefined;
  }

  close(): Promise<void> {
    return this.child.close();
  }
}

export const tiny: Bench = {
  name: 'tiny',
  title: 'Tiny tasks: throughput',
  steps: (config) => config.repeats + 2,
  async run(config, progress) {
    const { threads } = config;
    const processes = groups.map((group) => new GroupProcess(group, config.quick, threads));
    const cases: { info: CaseInfo; child: GroupProcess; index: number }[] = [];
    for (const child of processes) {
      for (const [index, info] of (await child.cases()).entries()) cases.push({ info, child, index });
    }
    progress.tick('pools open');
    const timed = cases.map(({ info, child, index }) => ({
      label: info.label,
      once: () => child.ask({ type: 'run', index }),
      warm: () => child.ask({ type: 'warm', index }),
    }));
    const times = await interleave(timed, config.repeats, (round) =>
      progress.tick(round === 0 ? 'warm-up' : `round ${round}`),
    );
    for (const child of processes) await child.close();
    const measured = cases.map(({ info }, i) => ({
      ...info,
      once: async () => 0,
      times: times[i]!,
      rate: info.tasks / median(times[i]!),
    }));
    return report(measured, threads, config.repeats);
  },
};

function report(rows: Measured[], threads: number, rounds: number): Section {
  const find = (label: string) => rows.find((row) => row.label === label)!;
  const families: Family[] = ['rxthreads pool.run', 'piscina', 'workerpool', 'threads.js Pool', 'raw loop'];
  const best = new Map(families.map((family) => [family, bestOf(rows, family)]));
  const piscinaBest = best.get('piscina')!;
  const rawBest = best.get('raw loop')!;
  const runBest = best.get('rxthreads pool.run')!;
  const ordered = find('rxthreads offloadToThread (ordered)');
  const unordered = find('rxthreads offloadToThread (unordered)');
  const arrayLoop = bestPlainArrayLoop(rows);
  const piscinaAll = rows.find((row) => row.family === 'piscina' && row.config?.startsWith('all'))!;
  const runAll = rows.find((row) => row.family === 'rxthreads pool.run' && row.config?.startsWith('all'))!;
  const ratio = (value: number, base: Measured) => `${sig(value / base.rate)}×`;
  const line = (row: Measured, label = row.label) => throughputLine(row, label, [piscinaBest, rawBest]);
  const head = ['case', 'tasks', 'median ms', 'tasks/ms', 'min–max tasks/ms', '× piscina (best)', '× raw loop (best)'];
  interface Line {
    readonly row: Measured;
    readonly label: string;
    readonly bar?: string | undefined;
  }
  const bestLine = (row: Measured, bar = `${row.family} (best)`): Line => ({
    row,
    label: `${row.family}: best, ${row.config}`,
    bar,
  });
  const plain = (row: Measured): Line => ({ row, label: row.label, bar: row.bar });
  const main: Line[] = [
    plain(find('main thread (sync loop)')),
    plain(find('promises alone, no thread (256 resolved per turn)')),
    plain(ordered),
    plain(unordered),
    ...families.map((family) => bestLine(best.get(family)!)),
  ];
  if (arrayLoop !== rawBest) {
    main.push({
      ...bestLine(arrayLoop, 'raw loop, plain arrays (best)'),
      label: `raw loop: best with plain arrays, ${arrayLoop.config}`,
    });
  }
  for (const row of rows) if (row.family === undefined && !main.some((line) => line.row === row)) main.push(plain(row));
  const mainTable: Table = { head, rows: main.map(({ row, label }) => line(row, label)) };
  const configTable = configurationsTable(rows, best);
  // Round 3's targets (issue 22), against the best baselines: the limit of message passing is the
  // plain loop with plain arrays of 256 numbers (the loop that moves Float64Arrays is faster still:
  // its ratio is in the table, not a target).
  const x = (row: Measured) => row.rate / piscinaBest.rate;
  const r = (row: Measured) => row.rate / arrayLoop.rate;
  const targets: Target[] = [
    { label: `${ordered.label} ≥ 60× piscina at its best`, met: x(ordered) >= 60, measured: `${fmt(x(ordered), 1)}×` },
    {
      label: `${ordered.label} ≥ 0.5× the best raw loop with plain arrays`,
      met: r(ordered) >= 0.5,
      measured: `${fmt(r(ordered), 2)}×`,
    },
    {
      label: `${unordered.label} ≥ 0.55× the best raw loop with plain arrays`,
      met: r(unordered) >= 0.55,
      measured: `${fmt(r(unordered), 2)}×`,
    },
    {
      label: 'rxthreads pool.run ≥ 20× piscina, each at its best',
      met: x(runBest) >= 20,
      measured: `${fmt(x(runBest), 1)}×`,
    },
  ];
  const perCall = piscinaBest.tasks;
  return {
    name: 'tiny',
    title: 'Tiny tasks: throughput',
    notes: [
      `Tasks of \`x + 1\` on ${threads} threads; each library's results are checked. Each library (rxthreads' operators and its \`pool.run\` apart) runs in a Node process of its own, with its pools open and idle but for the case being run, so that one library's garbage and collections do not fall on another's cases. Every case is warmed first (run until it has run for ${fmt(warmMs)} ms, at least once, at most 20 times); then every figure is the median of ${rounds} rounds, each of which runs every case below in the order listed, so that a change in the machine's load falls on all of them alike. In a round a case runs untimed for ${fmt(settleMs)} ms (at least once) in its process, then once timed: the process was idle while the others ran, V8 may have run a full collection meanwhile, which discards rxthreads' optimized code (the scale section's first-run column shows that cost), and a process's first runs after such a pause are slower, up to 2×, until it has been busy for about a tenth of a second. Ratios are between medians of this run; every timed round is in the run's JSON file.`,
      `Baselines: each library's best configuration in this run (the second table lists every one tried). Per-call libraries run ${fmt(perCall)} tasks per round with at most 1,000 to 50,000 calls in flight (a new call as each settles) and all at once; workerpool ${fmt(best.get('workerpool')!.tasks)} and threads.js ${fmt(best.get('threads.js Pool')!.tasks)} (fewer, as they are slower). The raw loop is the plain program for this job: slices of 256 values round-robin to the ${threads} workers, each adds 1 in place and posts the slice back, with plain arrays or Float64Arrays (copied, or moved both ways), all at once or a few per worker in flight. rxthreads' operators take ${fmt(ordered.tasks)} values from \`range\`.`,
      `Against the former baselines of this table: offloadToThread (ordered) is ${ratio(ordered.rate, piscinaAll)} piscina with all ${fmt(piscinaAll.tasks)} tasks in flight, and ${ratio(ordered.rate, find('raw worker_threads, 256 values per message, a promise per message (former baseline)'))} the raw batches with a promise each; pool.run with all its calls at once is ${ratio(runAll.rate, piscinaBest)} piscina at its best.`,
      "Where the time goes in `offloadToThread` (CPU profiles of 200,000 tiny values on a warm pool, repeatable as docs/design.md says; 2026-12-03, evening): once the task is measured tiny, its values go up to 256 to a job and up to 1,024 outcomes to a results message. A thread's own cost per value (measured alone, with no messages) is about half what it was in the morning: values are timed in groups of one clock reading, number results are written straight into packed arrays, and a value's context is smaller. The main thread is now the longer path: the stream's own work (the engine about 13 % of its samples, the stream 11 %, RxJS 10 %) and posting to the threads (about 9 %: the median post takes about 6 µs, but about one in ten wakes a sleeping thread and takes 100-300 µs on this VM), garbage collection about 5 %; it is idle about 42 %. Measured as CPU time against the wall clock, the process keeps about 1.4 to 1.5 of the 2 cores busy: about 340-400 ns of CPU per value across the three threads (about 150 ns the main thread's), where the raw loop's values carry no outcome, cancellation, order or timing of their own.",
      "`pool.run` returns a promise per call: the row 'promises alone' is what as many promises cost here with no thread at all.",
    ],
    tables: [mainTable, configTable],
    targets,
    chart: {
      title: `Tiny-task throughput (tasks/ms, ${threads} threads)`,
      unit: 'tasks/ms',
      bars: main.flatMap(({ row, bar }) =>
        bar === undefined ? [] : [{ label: bar, value: row.rate, ours: row.ours }],
      ),
    },
    data: {
      rounds,
      ...casesData(rows, best),
    },
  };
}
