/**
 * 8. rxthreads/remote: tiny tasks through Redis on loopback with two worker processes, beside
 * the local pool and plain BullMQ (`addBulk` and a worker whose processor runs the task).
 */
import { Queue, QueueEvents } from 'bullmq';
import { from, lastValueFrom, reduce, Subject } from 'rxjs';
import { type OffloadOptions, offloadToThread } from 'rxthreads';
import { RemotePool, remoteTask } from 'rxthreads/remote';
import { RedisServer, redisServerBinary, WorkerProcess } from '../spec/remote/harness';
import {
  type Bench,
  check,
  fmt,
  interleave,
  median,
  nowMs,
  percentile,
  type Section,
  sig,
  type Target,
  type TimedCase,
} from './harness';
import { openRxthreads, rxTask, workerFile } from './peers';

interface Row {
  readonly label: string;
  readonly tasks: number;
  /** ms per repeat */
  readonly times: number[];
  readonly ours: boolean;
}

const inputs = (n: number) => Array.from({ length: n }, (_, i) => i);
const expected = (n: number) => (n * (n + 1)) / 2;
const inc = remoteTask<number, number>('inc');

/** Adds every value as a BullMQ job and waits until all have completed (QueueEvents). */
async function plainBullmq(queue: Queue, events: QueueEvents, values: number[]): Promise<number> {
  let sum = 0;
  let left = values.length;
  const done = new Promise<void>((resolve) => {
    const onCompleted = ({ returnvalue }: { returnvalue: unknown }) => {
      sum += Number(returnvalue);
      if (--left === 0) {
        events.off('completed', onCompleted);
        resolve();
      }
    };
    events.on('completed', onCompleted);
  });
  for (let i = 0; i < values.length; i += 1_000) {
    await queue.addBulk(values.slice(i, i + 1_000).map((x) => ({ name: 'inc', data: x })));
  }
  await done;
  return sum;
}

/** Sequential round trips of one value: µs of each. */
async function roundTrips(calls: number, call: (x: number) => Promise<number>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await call(i); // warm-up
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = nowMs();
    const out = await call(i);
    times.push((nowMs() - start) * 1000);
    if (out !== i + 1) throw new Error(`wrong result ${out} for ${i}`);
  }
  return times;
}

export const remote: Bench = {
  name: 'remote',
  title: 'Remote: tiny tasks through Redis (rxthreads/remote)',
  steps: () => 8,
  async run(config, progress) {
    const title = remote.title;
    const binary = redisServerBinary();
    if (binary === undefined) {
      for (let i = 0; i < remote.steps(config); i++) progress.tick('skipped');
      return { name: 'remote', title, notes: ['Not run: no redis-server on PATH.'], tables: [], targets: [] };
    }
    const n = config.quick ? 2_000 : 10_000;
    const calls = config.quick ? 100 : 500;
    const redis = new RedisServer(binary);
    await redis.start();
    const rows: Row[] = [];
    /** The index in `cases` of each throughput row's case. */
    const caseOf = new Map<Row, number>();
    const lone: { label: string; p50: number[]; p99: number[]; ours: boolean }[] = [];
    // Every way is open at once and the repeats interleaved (harness.ts `interleave`): the machine's
    // state drifts, and ways measured one after another would each meet a different machine.
    const cases: TimedCase[] = [];
    const closers: (() => Promise<unknown>)[] = [];
    const measure = (label: string, ours: boolean, once: (values: number[]) => Promise<number>) => {
      const values = inputs(n);
      const row: Row = { label, tasks: n, times: [], ours };
      rows.push(row);
      caseOf.set(row, cases.length);
      cases.push({
        label,
        once: async () => {
          check(await once(values), expected(n), label);
          return undefined;
        },
      });
      return row;
    };
    const loneRow = (label: string, ours: boolean, call: (x: number) => Promise<number>) => {
      const row = { label, p50: [] as number[], p99: [] as number[], ours };
      lone.push(row);
      cases.push({
        label,
        warm: () => roundTrips(20, call),
        once: async () => {
          const times = await roundTrips(calls, call);
          row.p50.push(median(times));
          row.p99.push(percentile(times, 99));
          return undefined;
        },
      });
    };
    const sum = (pool: OffloadOptions<number> & { settle?: false }, values: number[], task = inc) =>
      lastValueFrom(
        from(values).pipe(
          offloadToThread(task, pool),
          reduce((a, b) => a + b, 0),
        ),
      );
    try {
      // The local pool, for scale.
      const local = await openRxthreads(config.threads);
      closers.push(() => local.close());
      measure(`local ThreadPool (${config.threads} threads), offloadToThread`, true, (values) =>
        sum({ pool: local }, values, rxTask<number, number>('inc')),
      );
      loneRow('local ThreadPool, pool.run', true, (x) => local.run(rxTask<number, number>('inc'), x));

      // rxthreads/remote: two worker processes of `threads` threads each.
      const workers = await Promise.all(
        [0, 1].map(() =>
          WorkerProcess.start(redis.url, 'bench', workerFile('remote-rxthreads'), [
            redis.url,
            'bench',
            String(config.threads),
          ]),
        ),
      );
      const pool = new RemotePool({ queue: 'bench', connection: redis.url });
      const single = new RemotePool({ queue: 'bench', connection: redis.url, batchSize: 1 });
      const input = new Subject<number>();
      let resolve: (value: number) => void = () => {};
      const subscription = input.pipe(offloadToThread(inc, { pool })).subscribe((value) => resolve(value));
      closers.push(async () => {
        subscription.unsubscribe();
        await Promise.all([pool.close(), single.close()]);
        await Promise.all(workers.map((worker) => worker.stop()));
      });
      for (const concurrency of [64, 256]) {
        measure(`rxthreads/remote, concurrency ${concurrency} (batched by task time)`, true, (values) =>
          sum({ pool, concurrency }, values),
        );
      }
      measure('rxthreads/remote, concurrency 256, batchSize 1 (a job per input)', true, (values) =>
        sum({ pool: single, concurrency: 256 }, values),
      );
      loneRow(
        'rxthreads/remote, offloadToThread (lone values)',
        true,
        (x) =>
          new Promise<number>((r) => {
            resolve = r;
            input.next(x);
          }),
      );

      // Plain BullMQ: two worker processes whose processor runs the task, concurrency 4 × threads.
      const plain = await Promise.all(
        [0, 1].map(() =>
          WorkerProcess.start(redis.url, 'plain', workerFile('remote-bullmq'), [
            redis.url,
            'plain',
            String(config.threads * 4),
          ]),
        ),
      );
      // BullMQ trims a queue's event stream to about 10,000 events by default, and a job makes about
      // four: a QueueEvents that fell behind on a loaded machine missed 'completed' events of a
      // repeat and waited for them forever. The stream keeps every event of a repeat here.
      const queue = new Queue('plain', { connection: { url: redis.url }, streams: { events: { maxLen: 10 * n } } });
      const events = new QueueEvents('plain', { connection: { url: redis.url } });
      closers.push(async () => {
        await Promise.all([queue.close(), events.close()]);
        await Promise.all(plain.map((worker) => worker.stop()));
      });
      await events.waitUntilReady();
      measure('plain BullMQ (addBulk, QueueEvents)', false, (values) => plainBullmq(queue, events, values));
      loneRow('plain BullMQ (add, waitUntilFinished)', false, async (x) => {
        const job = await queue.add('inc', x);
        return Number(await job.waitUntilFinished(events));
      });

      const times = await interleave(cases, config.repeats);
      for (const row of rows) row.times.push(...times[caseOf.get(row)!]!);
      for (const c of cases) progress.tick(c.label);
    } finally {
      for (const close of closers) await close();
      await redis.stop();
    }
    const plainRate = n / median(rows.find((row) => row.label.startsWith('plain'))!.times);
    const section: Section = {
      name: 'remote',
      title,
      notes: [
        `${fmt(n)} tasks of \`x + 1\` per repeat through a redis-server on loopback, served by 2 worker processes of ${config.threads} threads each on this same machine (so the workers, Redis and the caller share its ${config.threads} cores); each run's results are checked.`,
        "A lone value is sent only once the last is back; its round trip crosses Redis twice (the job, then its outcome). Lone round trips: the median over the repeats of each repeat's median and p99.",
        'Every way is open at once (the idle workers wait on Redis) and the repeats are interleaved, so that each way meets the machine in the same state.',
        "Batches: consecutive inputs of a subscription travel as one BullMQ job, each with its own outcome, sized from the tasks' durations (about 10 ms of work per job, at most an eighth of the concurrency). The batchSize 1 row shows what they buy.",
      ],
      tables: [
        {
          head: ['way', 'tasks', 'median ms', 'tasks/s', '× plain BullMQ'],
          rows: rows.map((row) => {
            const ms = median(row.times);
            return [
              row.label,
              fmt(row.tasks),
              sig(ms),
              fmt((row.tasks / ms) * 1000),
              `${sig(row.tasks / ms / plainRate)}×`,
            ];
          }),
        },
        {
          head: ['lone round trip', 'p50 µs', 'p99 µs'],
          rows: lone.map((row) => [row.label, sig(median(row.p50)), sig(median(row.p99))]),
        },
      ],
      data: {
        msPerRepeat: Object.fromEntries(rows.map((row) => [row.label, row.times])),
        loneMicros: Object.fromEntries(lone.map((row) => [row.label, { p50: row.p50, p99: row.p99 }])),
      },
      targets: remoteTargets(
        rows,
        lone.map((row) => ({ label: row.label, p50: median(row.p50) })),
        plainRate,
      ),
    };
    return section;
  },
};

/** Issue 22's: batched throughput at 256 in flight ≥ 3× plain BullMQ; a lone round trip no slower. */
function remoteTargets(
  rows: { label: string; tasks: number; times: number[] }[],
  lone: { label: string; p50: number }[],
  plainRate: number,
): Target[] {
  const batched = rows.find((row) => row.label.startsWith('rxthreads/remote, concurrency 256 (batched'));
  const ours = lone.find((row) => row.label.startsWith('rxthreads/remote'));
  const plain = lone.find((row) => row.label.startsWith('plain BullMQ'));
  const out: Target[] = [];
  if (batched !== undefined) {
    const x = batched.tasks / median(batched.times) / plainRate;
    out.push({ label: 'rxthreads/remote at 256 in flight ≥ 3× plain BullMQ', met: x >= 3, measured: `${fmt(x, 2)}×` });
  }
  if (ours !== undefined && plain !== undefined) {
    out.push({
      label: 'a lone value through rxthreads/remote round-trips in no more time than through plain BullMQ',
      met: ours.p50 <= plain.p50,
      measured: `${fmt(ours.p50)} µs vs ${fmt(plain.p50)} µs`,
    });
  }
  return out;
}
