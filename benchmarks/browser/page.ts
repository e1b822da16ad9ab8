/// <reference lib="dom" />
// The browser benchmark's page (benchmarks/browser.ts bundles and serves it). Each library runs in
// a page of its own (`?group=…&threads=…`, `&quick` for small sizes), as each runs in a Node process
// of its own in the tiny-task section, so that one library's garbage does not fall on another's
// cases. The page opens its group's pools, then sets `globalThis.bench`, which the benchmark calls:
// `warm(i)`, `run(i)` (a case untimed for `settleMs`, then once timed here, its results checked),
// `roundTrips(i, repeats)`. Every library runs `inc` of work.ts (x + 1) on `threads` Web Workers.

import { wrap } from 'comlink';
import { lastValueFrom, range, reduce, Subject } from 'rxjs';
import { moduleTask, offloadToThread, type Task, ThreadPool } from 'rxthreads';
import { Pool, spawn, Worker as ThreadsWorker } from 'threads';
import workerpool from 'workerpool';
import { allAtOnce, inFlight, type LoopKind, runSlices } from '../slices';
import type { BenchPage, CaseInfo, Family, Group, LatencyInfo } from './shared';
import { settleMs, warmMs } from './shared';
import { inc } from './work';

type Call = (x: number) => Promise<number>;
interface Case extends CaseInfo {
  once(): Promise<number>;
}
interface Latency extends LatencyInfo {
  call: Call;
}

const params = new URLSearchParams(location.search);
const group = params.get('group') as Group;
const threads = Number(params.get('threads') ?? 2);
const quick = params.has('quick');
const url = (file: string) => new URL(file, location.href).href;

/** Tasks per case, and the limits in flight tried. */
const sizes = {
  /** rxthreads' operators, the raw loops and the main thread's loop. */
  stream: quick ? 10_000 : 100_000,
  /** rxthreads `pool.run`, a promise per call. */
  perCall: quick ? 10_000 : 100_000,
  /** workerpool and comlink: about 10-50 tasks per ms here. */
  slow: quick ? 2_000 : 20_000,
  /** threads.js: about 1-10 tasks per ms. */
  threadsJs: quick ? 500 : 3_000,
  /** rxthreads in a page that is not cross-origin isolated: one round trip per task per thread. */
  plain: quick ? 1_000 : 10_000,
  /** The raw loop's 1-message-per-task row (not a baseline). */
  perMessage: quick ? 2_000 : 20_000,
  /** Calls per repeat of a round-trip case; threads.js takes about 1 ms each. */
  calls: quick ? 200 : 1_000,
  threadsJsCalls: quick ? 100 : 300,
};

const inputs = (n: number) => Array.from({ length: n }, (_, i) => i);
const expected = (n: number) => (n * (n + 1)) / 2;
const values = new Map<number, number[]>();
const valuesOf = (n: number) => values.get(n) ?? values.set(n, inputs(n)).get(n)!;

const fmt = (n: number) => n.toLocaleString('en-US');

/** A library's calls at each limit in flight below `tasks`, then all at once. */
function callCases(family: Family, name: string, call: Call, tasks: number, limits: number[], ours = false): Case[] {
  const all = valuesOf(tasks);
  const below = limits.filter((limit) => limit < tasks);
  return [
    ...below.map((limit) => {
      const config = `${fmt(limit)} in flight`;
      return { label: `${name}, ${config}`, family, config, tasks, ours, once: () => inFlight(call, all, limit) };
    }),
    {
      label: `${name}, all ${fmt(tasks)} at once`,
      family,
      config: `all ${fmt(tasks)} at once`,
      tasks,
      ours,
      once: () => allAtOnce(call, all),
    },
  ];
}

/** A stream fed one value at a time (the next once the last is back), as in the latency section. */
function loneValues(pool: ThreadPool, task: Task<number, number>): Call {
  const input = new Subject<number>();
  let resolve: (value: number) => void = () => {};
  input.pipe(offloadToThread(task, { pool })).subscribe((value) => resolve(value));
  return (x) =>
    new Promise<number>((r) => {
      resolve = r;
      input.next(x);
    });
}

/** rxthreads' pools: `offloadToThread` over `range` (a pool each way) and `pool.run`. */
async function rxthreadsGroup(isolated: boolean): Promise<{ cases: Case[]; latency: Latency[] }> {
  const task = moduleTask<number, number>(url('work.js'), 'inc');
  const open = async () => {
    const pool = new ThreadPool({ size: threads });
    await Promise.all(Array.from({ length: threads * 2 }, (_, i) => pool.run(task, i)));
    return pool;
  };
  const stream = (pool: ThreadPool, ordered: boolean, n: number) =>
    lastValueFrom(
      range(0, n).pipe(
        offloadToThread(task, { pool, ordered }),
        reduce((sum, x) => sum + x, 0),
      ),
    );
  const note = isolated ? '' : ' (page not cross-origin isolated)';
  const cases: Case[] = [];
  const pools: ThreadPool[] = [];
  for (const ordered of isolated ? [true, false] : [false]) {
    const pool = await open();
    pools.push(pool);
    const n = isolated ? sizes.stream : sizes.plain;
    const label = `rxthreads offloadToThread (${ordered ? 'ordered' : 'unordered'})${note}`;
    cases.push({ label, tasks: n, ours: true, once: () => stream(pool, ordered, n) });
  }
  const runPool = await open();
  const run: Call = (x) => runPool.run(task, x);
  if (isolated)
    cases.push(
      ...callCases('rxthreads pool.run', 'rxthreads pool.run', run, sizes.perCall, [1_000, 5_000, 20_000], true),
    );
  else {
    const all = valuesOf(sizes.plain);
    cases.push({
      label: `rxthreads pool.run, 1,000 in flight${note}`,
      tasks: sizes.plain,
      ours: true,
      once: () => inFlight(run, all, 1_000),
    });
  }
  const latency: Latency[] = [
    {
      label: `rxthreads offloadToThread (lone values)${note}`,
      ours: true,
      calls: sizes.calls,
      call: loneValues(pools.at(-1)!, task),
    },
    { label: `rxthreads pool.run${note}`, ours: true, calls: sizes.calls, call: run },
  ];
  return { cases, latency };
}

async function workerpoolGroup(): Promise<{ cases: Case[]; latency: Latency[] }> {
  const pool = workerpool.pool(url('workerpool-worker.js'), {
    minWorkers: threads,
    maxWorkers: threads,
    workerType: 'web',
  });
  await Promise.all(Array.from({ length: threads * 2 }, (_, i) => pool.exec('inc', [i])));
  const call: Call = (x) => pool.exec('inc', [x]) as Promise<number>;
  return {
    cases: callCases('workerpool', 'workerpool', call, sizes.slow, [2, 100, 1_000, 5_000]),
    latency: [{ label: 'workerpool', ours: false, calls: sizes.calls, call }],
  };
}

type Exposed = { inc(x: number): Promise<number> };

async function threadsJsGroup(): Promise<{ cases: Case[]; latency: Latency[] }> {
  const cases: Case[] = [];
  const latency: Latency[] = [];
  const all = valuesOf(sizes.threadsJs);
  // concurrency: tasks a worker is given at once (default 1); with each, the limits in flight tried.
  for (const [concurrency, limits] of [
    [1, []],
    [8, [16]],
    [32, [64, 128, 1_000]],
  ] as [number, number[]][]) {
    const pool = Pool(() => spawn<Exposed>(new ThreadsWorker(url('threads-worker.js'))), {
      size: threads,
      concurrency,
    });
    await Promise.all(Array.from({ length: threads * 2 }, (_, i) => pool.queue((worker) => worker.inc(i))));
    const call: Call = (x) => pool.queue((worker) => worker.inc(x)) as unknown as Promise<number>;
    const name = `concurrency ${concurrency}${concurrency === 1 ? ' (default)' : ''}`;
    const add = (config: string, once: () => Promise<number>) =>
      cases.push({
        label: `threads.js Pool, ${config}`,
        family: 'threads.js Pool',
        config,
        tasks: all.length,
        ours: false,
        once,
      });
    for (const limit of limits.filter((limit) => limit < all.length)) {
      add(`${name}, ${fmt(limit)} in flight`, () => inFlight(call, all, limit));
    }
    if (concurrency === 1) {
      add(`${name}, all ${fmt(all.length)} at once`, () => allAtOnce(call, all));
      latency.push({ label: 'threads.js Pool', ours: false, calls: sizes.threadsJsCalls, call });
    }
  }
  return { cases, latency };
}

async function comlinkGroup(): Promise<{ cases: Case[]; latency: Latency[] }> {
  const remotes = Array.from({ length: threads }, () =>
    wrap<Exposed>(new Worker(url('comlink-worker.js'), { type: 'module' })),
  );
  await Promise.all(remotes.map((remote) => remote.inc(0)));
  // comlink has no pool: calls go round-robin to the workers.
  let next = 0;
  const call: Call = (x) => remotes[next++ % remotes.length]!.inc(x);
  return {
    cases: callCases('comlink', `comlink, ${threads} workers round-robin`, call, sizes.slow, [2, 100, 1_000, 5_000]),
    latency: [{ label: 'comlink', ours: false, calls: sizes.calls, call: (x) => remotes[0]!.inc(x) }],
  };
}

/** The plain loop, as RawLoop in raw.ts: slices round-robin to the workers, added up as they come back. */
class RawLoop {
  private readonly workers: Worker[] = [];
  private onSlice: (worker: Worker, values: ArrayLike<number>) => void = () => {};

  constructor(readonly kind: LoopKind) {
    const transfer = kind === 'Float64Array, transferred';
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(url(`raw-worker.js${transfer ? '?transfer' : ''}`));
      worker.onmessage = ({ data }: MessageEvent<ArrayLike<number>>) => this.onSlice(worker, data);
      this.workers.push(worker);
    }
  }

  run(all: readonly number[], size: number, perWorker = Number.POSITIVE_INFINITY): Promise<number> {
    return runSlices(
      this.workers,
      this.kind,
      all,
      size,
      perWorker,
      (worker, slice, transfer) => worker.postMessage(slice, transfer ?? []),
      (onSlice) => {
        this.onSlice = onSlice;
      },
    );
  }
}

/** One message per task, with an id and a promise each, to the least loaded worker (as RawPool). */
class RawCalls {
  private readonly workers: { worker: Worker; inFlight: number }[] = [];
  private readonly pending = new Map<number, (value: number) => void>();
  private nextId = 0;

  constructor() {
    for (let i = 0; i < threads; i++) {
      const slot = { worker: new Worker(url('raw-worker.js')), inFlight: 0 };
      slot.worker.onmessage = ({ data }: MessageEvent<{ id: number; value: number }>) => {
        slot.inFlight--;
        const resolve = this.pending.get(data.id)!;
        this.pending.delete(data.id);
        resolve(data.value);
      };
      this.workers.push(slot);
    }
  }

  readonly call: Call = (x) => {
    let slot = this.workers[0]!;
    for (const other of this.workers) if (other.inFlight < slot.inFlight) slot = other;
    const id = this.nextId++;
    slot.inFlight++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      slot.worker.postMessage({ id, x });
    });
  };
}

async function rawGroup(): Promise<{ cases: Case[]; latency: Latency[] }> {
  const cases: Case[] = [];
  const n = sizes.stream;
  for (const kind of ['Array', 'Float64Array', 'Float64Array, transferred'] as const) {
    const loop = new RawLoop(kind);
    await loop.run(inputs(threads), 1);
    for (const perWorker of [Number.POSITIVE_INFINITY, 2, 8]) {
      const config = `${kind}, 256 per message, ${perWorker === Number.POSITIVE_INFINITY ? 'all at once' : `${perWorker} per worker in flight`}`;
      cases.push({
        label: `raw loop (${config})`,
        family: 'raw loop',
        config,
        tasks: n,
        ours: false,
        once: () => loop.run(valuesOf(n), 256, perWorker),
      });
    }
  }
  const calls = new RawCalls();
  await Promise.all(inputs(threads * 2).map(calls.call));
  cases.push({
    label: 'raw postMessage, 1 message per task',
    tasks: sizes.perMessage,
    ours: false,
    once: () => allAtOnce(calls.call, valuesOf(sizes.perMessage)),
  });
  return {
    cases,
    latency: [{ label: 'raw postMessage (one message each way)', ours: false, calls: sizes.calls, call: calls.call }],
  };
}

function referencesGroup(): { cases: Case[]; latency: Latency[] } {
  const n = sizes.stream;
  return {
    cases: [
      {
        label: 'main thread (sync loop)',
        tasks: n,
        ours: false,
        once: async () => {
          let sum = 0;
          for (const x of valuesOf(n)) sum += inc(x);
          return sum;
        },
      },
    ],
    latency: [
      { label: 'main thread (await of a sync call)', ours: false, calls: sizes.calls, call: async (x) => inc(x) },
    ],
  };
}

async function open(): Promise<{ cases: Case[]; latency: Latency[] }> {
  switch (group) {
    case 'references':
      return referencesGroup();
    case 'rxthreads':
      return rxthreadsGroup(true);
    case 'rxthreads-plain':
      return rxthreadsGroup(false);
    case 'workerpool':
      return workerpoolGroup();
    case 'threads.js':
      return threadsJsGroup();
    case 'comlink':
      return comlinkGroup();
    case 'raw':
      return rawGroup();
  }
  throw new Error(`no group ${group}`);
}

const percentile = (sorted: number[], p: number) => {
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  return sorted[low]! + (sorted[Math.ceil(rank)]! - sorted[low]!) * (rank - low);
};

open().then(
  ({ cases, latency }) => {
    const once = async (index: number) => {
      const c = cases[index]!;
      const start = performance.now();
      const sum = await c.once();
      const ms = performance.now() - start;
      if (sum !== expected(c.tasks))
        throw new Error(`${c.label}: wrong results (checksum ${sum}, expected ${expected(c.tasks)})`);
      return ms;
    };
    const bench: BenchPage = {
      userAgent: navigator.userAgent,
      crossOriginIsolated,
      cases: cases.map(({ once: _, ...info }) => info),
      latency: latency.map(({ call: _, ...info }) => info),
      async warm(index) {
        let spent = 0;
        for (let runs = 0; runs < 20 && (runs === 0 || spent < warmMs); runs++) spent += await once(index);
      },
      async run(index) {
        const start = performance.now();
        do await once(index);
        while (performance.now() - start < settleMs);
        return once(index);
      },
      async roundTrips(index, repeats) {
        const { label, calls, call } = latency[index]!;
        for (let i = 0; i < calls; i++) await call(i);
        const p50: number[] = [];
        const p99: number[] = [];
        for (let r = 0; r < repeats; r++) {
          const times: number[] = [];
          for (let i = 0; i < calls; i++) {
            const start = performance.now();
            const out = await call(i);
            times.push((performance.now() - start) * 1_000);
            if (out !== i + 1) throw new Error(`${label}: wrong result ${out} for ${i}`);
          }
          times.sort((a, b) => a - b);
          p50.push(percentile(times, 50));
          p99.push(percentile(times, 99));
        }
        return { p50, p99 };
      },
    };
    (globalThis as unknown as { bench: BenchPage }).bench = bench;
  },
  (error: unknown) => {
    (globalThis as unknown as { benchError: string }).benchError = String((error as Error)?.stack ?? error);
  },
);
