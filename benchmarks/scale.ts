/**
 * 11. Cost as work grows: throughput and memory of rxthreads at 1,000 to 1,000,000 tiny values, from
 * a push source (`range` into offloadToThread) and a pull source (offloadFrom over a generator), on
 * pools of 1, 2 and 4 threads. Each case runs in a fresh process (memory-child.ts, as the memory
 * benchmark does), so that its memory is its own.
 */
import { type Bench, fmt, median, type Section, sig, type Table, type Target } from './harness';
import { child, type Measured } from './memory';

type Source = 'push' | 'pull';

interface Row {
  readonly source: Source;
  readonly threads: number;
  readonly items: number;
  readonly repeats: number;
  readonly result: Measured;
}

const sources: Record<Source, { readonly name: string; readonly label: string }> = {
  push: { name: 'offloadToThread', label: 'push: range → offloadToThread' },
  pull: { name: 'offloadFrom', label: 'pull: offloadFrom(generator)' },
};

const threadCounts = [1, 2, 4];

/** Sizes, with more timed runs for the short ones, whose runs take a millisecond or two. */
function sizes(quick: boolean): [items: number, repeats: number][] {
  return quick
    ? [
        [1_000, 20],
        [10_000, 10],
        [100_000, 3],
      ]
    : [
        [1_000, 50],
        [10_000, 20],
        [100_000, 10],
        [1_000_000, 5],
      ];
}

export const scale: Bench = {
  name: 'scale',
  title: 'Cost as work grows: 1,000 to 1,000,000 values',
  steps: (config) => Object.keys(sources).length * threadCounts.length * sizes(config.quick).length,
  async run(config, progress) {
    const rows: Row[] = [];
    for (const source of Object.keys(sources) as Source[]) {
      for (const threads of threadCounts) {
        // The sizes of one configuration one after another, so that they meet about the same load.
        for (const [items, repeats] of sizes(config.quick)) {
          const result = await child(sources[source].name, items, threads, repeats);
          rows.push({ source, threads, items, repeats, result });
          progress.tick(`${source}, ${threads} threads, ${fmt(items)}`);
        }
      }
    }
    return report(rows, config.threads);
  },
};

const mib = (bytes: number) => fmt(bytes / 2 ** 20, 1);

/** Issue 22's: on the machine's thread count, a short stream's value costs at most 1.5× a long one's; 1M pushed values' backlog ≤ 40 MB. */
function targets(
  rows: Row[],
  threads: number,
  largest: number,
  perValue: (row: Row) => number,
  reference: (row: Row) => Row,
): Target[] {
  if (largest < 1_000_000) return []; // --quick: not the sizes the targets are about
  const out: Target[] = [];
  for (const source of Object.keys(sources) as Source[]) {
    const small = rows.find((row) => row.source === source && row.threads === threads && row.items === 10_000);
    if (small === undefined) continue;
    const x = perValue(small) / perValue(reference(small));
    out.push({
      label: `${sources[source].label}, ${threads} threads: a value costs at most 1.5× at 10,000 values what it costs at ${fmt(largest)}`,
      met: x <= 1.5,
      measured: `${fmt(x, 2)}×`,
    });
  }
  const pushed = rows.find((row) => row.source === 'push' && row.threads === threads && row.items === largest);
  if (pushed !== undefined) {
    const mb = (pushed.result.heapPeak - pushed.result.heapBaseline) / 1e6;
    out.push({
      label: `${fmt(largest)} values pushed by range, ${threads} threads: heap growth (peak) ≤ 40 MB`,
      met: mb <= 40,
      measured: `${fmt(mb, 1)} MB`,
    });
  }
  return out;
}

function report(rows: Row[], cores: number): Section {
  const largest = Math.max(...rows.map((row) => row.items));
  const perValue = (row: Row) => (median(row.result.times) * 1000) / row.items; // µs
  const reference = (row: Row) =>
    rows.find((r) => r.source === row.source && r.threads === row.threads && r.items === largest)!;
  const throughput: Table = {
    head: [
      'source',
      'threads',
      'values',
      'timed runs',
      'median ms',
      'values/ms',
      'µs per value',
      `× per-value cost at ${fmt(largest)}`,
      'first run ms (after a full GC)',
    ],
    rows: rows.map((row) => [
      sources[row.source].label,
      `${row.threads}${row.threads > cores ? ' (over cores)' : ''}`,
      fmt(row.items),
      `${row.repeats}`,
      sig(median(row.result.times)),
      sig(row.items / median(row.result.times)),
      sig(perValue(row)),
      `${sig(perValue(row) / perValue(reference(row)))}×`,
      sig(row.result.ms),
    ]),
  };
  const memoryTable: Table = {
    head: [
      'source',
      'threads',
      'values',
      'heap growth MiB (peak)',
      'heap kept MiB (after GC)',
      'RSS growth MiB (peak)',
      'heap bytes per value (peak)',
    ],
    rows: rows.map(({ source, threads, items, result }) => [
      sources[source].label,
      `${threads}`,
      fmt(items),
      mib(result.heapPeak - result.heapBaseline),
      mib(result.heapAfter - result.heapBaseline),
      mib(result.peak - result.baseline),
      fmt((result.heapPeak - result.heapBaseline) / items),
    ]),
  };
  return {
    name: 'scale',
    title: 'Cost as work grows: 1,000 to 1,000,000 values',
    notes: [
      `Tiny tasks (\`x + 1\`) through rxthreads on pools of ${threadCounts.join(', ')} threads, on a machine of ${cores} cores (${threadCounts.filter((t) => t > cores).join(', ')} threads are more than it has, and share them). Push: \`range(0, n)\` into \`offloadToThread\`, which takes every value at once into its backlog. Pull: \`offloadFrom\` over a generator, which reads while fewer than \`highWaterMark\` (default 4,096) values are read and not yet emitted.`,
      `Each case runs in a fresh Node process (memory-child.ts): it opens its pool, warms it with three runs of 20,000 values of the same pipeline, collects garbage, then runs once measuring memory (RSS and heap sampled every 5 ms, and the heap every 1,024 results and right after a push source has pushed everything; that run is the "first run", slower as the collection before it discarded optimized code), collects garbage again, runs untimed for a second (at least twice: a short stream takes many runs to have its optimized code made again, a long one its first run or two), then the timed runs, back to back, without a forced collection. Throughput is the median of the timed runs. The per-value cost at each size is compared with the same source and thread count at ${fmt(largest)} values, measured in this run: above 1× a value costs more in a short stream (subscribing, starting the pool's batching, warming).`,
      'Heap growth is the peak of V8 heap in use above what it was before the run, garbage not yet collected included: it shows what a run allocates at once as much as what it keeps. Heap kept is what remains after a full collection once the run is over. RSS growth counts the pool threads, which share the process.',
    ],
    tables: [throughput, memoryTable],
    targets: targets(rows, cores, largest, perValue, reference),
    data: {
      rows: rows.map(({ source, threads, items, repeats, result }) => ({
        source,
        threads,
        items,
        repeats,
        ...result,
      })),
    },
  };
}
