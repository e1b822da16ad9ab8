/** 3. CPU-bound speedup: tasks of ~20 ms of integer work on N threads against the main thread. */
import { type Bench, fmt, median, type Section, timeRepeats } from './harness';
import { spinOnEveryLibrary } from './peers';
import { roundsFor, work } from './work';

interface Row {
  readonly label: string;
  readonly times: number[];
  readonly ours: boolean;
}

export const taskMs = 20;

export const cpu: Bench = {
  name: 'cpu',
  title: 'CPU-bound speedup',
  steps: () => 6,
  async run(config, progress) {
    const count = config.quick ? 8 : 32;
    const rounds = roundsFor(taskMs);
    const inputs = Array.from({ length: count }, () => rounds);
    const expected = work.spin(rounds) * count;
    const rows: Row[] = [];
    const measure = async (label: string, ours: boolean, once: () => Promise<number>) => {
      const times = await timeRepeats(config.repeats, async () => {
        const sum = await once();
        if (sum !== expected) throw new Error(`${label}: wrong checksum ${sum}`);
      });
      rows.push({ label, times, ours });
      progress.tick(label);
    };

    await measure('main thread (sync)', false, async () => {
      let sum = 0;
      for (const n of inputs) sum += work.spin(n);
      return sum;
    });
    await spinOnEveryLibrary(config.threads, inputs, (label, once) =>
      measure(label, label.startsWith('rxthreads'), once),
    );
    return report(rows, count, rounds, config.threads);
  },
};

function report(rows: Row[], count: number, rounds: number, threads: number): Section {
  const sync = median(rows[0]!.times);
  const speedup = (row: Row) => sync / median(row.times);
  const ours = speedup(rows.find((row) => row.ours)!);
  return {
    name: 'cpu',
    title: 'CPU-bound speedup',
    notes: [
      `${count} tasks of ${fmt(rounds)} xorshift rounds (calibrated to about ${taskMs} ms on the main thread) on ${threads} threads; speedup = main-thread time / library time (ideal: ${threads}).`,
    ],
    tables: [
      {
        head: ['library', 'median ms', 'speedup', 'of ideal'],
        rows: rows.map((row) => [
          row.label,
          fmt(median(row.times), 1),
          `${fmt(speedup(row), 2)}×`,
          `${fmt((100 * speedup(row)) / threads)}%`,
        ]),
      },
    ],
    targets: [
      {
        label: `CPU-bound speedup of offloadToThread ≥ 0.9 × ${threads} threads = ${fmt(0.9 * threads, 2)}×`,
        met: ours >= 0.9 * threads,
        measured: `${fmt(ours, 2)}× (${fmt((100 * ours) / threads)}% of ideal)`,
      },
    ],
    chart: {
      title: `CPU-bound speedup over the main thread (${count} × ~${taskMs} ms tasks, ${threads} threads)`,
      unit: '×',
      bars: rows.slice(1).map((row) => ({ label: row.label, value: speedup(row), ours: row.ours })),
      line: { label: `ideal ${threads}×`, value: threads },
    },
  };
}
