/** 10. Streams: main-loop delay while a million tiny tasks stream through offloadFrom; values a streaming task yields per ms. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { from, lastValueFrom, reduce } from 'rxjs';
import { offloadFrom, offloadToThread } from 'rxthreads';
import { type Bench, check, fmt, median, type Section, sig, timeRepeats } from './harness';
import { openRxthreads, rxTask } from './peers';

const resolutionMs = 1;

function* numbers(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

export const streams: Bench = {
  name: 'streams',
  title: 'Streams: main-loop delay under a long pull stream, and streaming-task throughput',
  steps: () => 3,
  async run(config, progress) {
    const items = config.quick ? 100_000 : 1_000_000;
    const pool = await openRxthreads(config.threads);
    // 1. Event-loop delay on the main thread while `items` tiny tasks stream through offloadFrom.
    const delays = { p50: [] as number[], p99: [] as number[], max: [] as number[], ms: [] as number[] };
    for (let r = 0; r < config.repeats; r++) {
      const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
      histogram.enable();
      const started = performance.now();
      const sum = await lastValueFrom(
        offloadFrom(numbers(items), rxTask<number, number>('inc'), { pool }).pipe(reduce((a, b) => a + b, 0)),
      );
      delays.ms.push(performance.now() - started);
      histogram.disable();
      check(sum, (items * (items + 1)) / 2, 'offloadFrom');
      const delay = (ns: number) => Math.max(0, ns / 1e6 - resolutionMs);
      delays.p50.push(delay(histogram.percentile(50)));
      delays.p99.push(delay(histogram.percentile(99)));
      delays.max.push(delay(histogram.max));
    }
    progress.tick('offloadFrom main-loop delay');
    // 2. A generator task's values per ms: one input yielding them all, then two inputs unordered.
    const yields = config.quick ? 200_000 : 2_000_000;
    const generate = function* (n: number) {
      for (let i = 0; i < n; i++) yield i;
    };
    const rows: { label: string; values: number; times: number[] }[] = [];
    for (const [label, inputs] of [
      ['one input yielding every value', [yields]],
      [
        `${config.threads} inputs, unordered, each yielding its share`,
        Array(config.threads).fill(yields / config.threads),
      ],
    ] as const) {
      const times = await timeRepeats(config.repeats, async () => {
        const count = await lastValueFrom(
          from(inputs as number[]).pipe(
            offloadToThread(generate, { pool, ordered: false }),
            reduce((n) => n + 1, 0),
          ),
        );
        check(count, yields, label);
      });
      rows.push({ label, values: yields, times });
      progress.tick(label);
    }
    await pool.close();
    const p99 = median(delays.p99);
    return {
      name: 'streams',
      title: 'Streams: main-loop delay under a long pull stream, and streaming-task throughput',
      notes: [
        `Event-loop delay on the main thread (monitorEventLoopDelay, ${resolutionMs} ms resolution, the delay beyond the interval) while ${fmt(items)} tasks of \`x + 1\` stream through \`offloadFrom\` over a generator on ${config.threads} threads (default highWaterMark). Median over the repeats.`,
        `A streaming task: an inline generator yields ${fmt(yields)} numbers in all; the operator emits each; values/ms over the whole stream.`,
      ],
      tables: [
        {
          head: ['case', 'items', 'seconds', 'p50 ms', 'p99 ms', 'max ms'],
          rows: [
            [
              'offloadFrom, tiny tasks',
              fmt(items),
              fmt(median(delays.ms) / 1000, 2),
              fmt(median(delays.p50), 2),
              fmt(p99, 2),
              fmt(median(delays.max), 2),
            ],
          ],
        },
        {
          head: ['streaming task', 'values', 'median ms', 'values/ms'],
          rows: rows.map((row) => [
            row.label,
            fmt(row.values),
            sig(median(row.times)),
            fmt(row.values / median(row.times), 1),
          ]),
        },
      ],
      targets: [
        {
          label: `main-loop delay p99 < 10 ms while ${fmt(items)} tiny tasks stream through offloadFrom`,
          met: p99 < 10,
          measured: `p99 ${fmt(p99, 2)} ms`,
        },
      ],
    } satisfies Section;
  },
};
