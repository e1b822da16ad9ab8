// What the throughput sections (tiny on Node, browser in Chromium) share: cases grouped in
// families (one library's configurations), whose fastest in the run is that library's baseline.
import { fmt, median, sig, type Table } from './harness';

/** A timed throughput case. */
export interface Measured {
  readonly label: string;
  /** The library or way whose configurations it is one of. */
  readonly family?: string;
  /** The configuration, within its family. */
  readonly config?: string;
  readonly tasks: number;
  readonly ours: boolean;
  /** ms per round */
  readonly times: number[];
  /** Median tasks/ms. */
  readonly rate: number;
}

/** The fastest case of `family`: its baseline. */
export function bestOf<R extends Measured>(rows: readonly R[], family: string): R {
  return rows.filter((row) => row.family === family).reduce((best, row) => (row.rate > best.rate ? row : best));
}

/** The slowest and fastest rounds of a case, in tasks/ms. */
export function rateSpread(row: Measured): string {
  const rates = row.times.map((ms) => row.tasks / ms);
  return `${sig(Math.min(...rates))}–${sig(Math.max(...rates))}`;
}

/** Every configuration tried, by family, each against the best of its family. */
export function configurationsTable(rows: readonly Measured[], best: ReadonlyMap<string, Measured>): Table {
  return {
    head: ['library', 'configuration', 'tasks', 'median ms', 'tasks/ms', 'min–max tasks/ms', '× best of library'],
    rows: rows
      .filter((row) => row.family !== undefined)
      .map((row) => {
        const top = best.get(row.family!)!;
        return [
          row.family!,
          `${row.config}${row === top ? ' (best)' : ''}`,
          fmt(row.tasks),
          sig(median(row.times)),
          sig(row.rate),
          rateSpread(row),
          `${sig(row.rate / top.rate)}×`,
        ];
      }),
  };
}

/** The run's JSON: the baseline of each family and every case's rounds. */
export function casesData(rows: readonly Measured[], best: ReadonlyMap<string, Measured>) {
  return {
    baselines: Object.fromEntries([...best].map(([family, row]) => [family, row.label])),
    cases: rows.map(({ label, family, config, tasks, ours, times, rate }) => ({
      label,
      family: family ?? null,
      config: config ?? null,
      tasks,
      ours,
      msPerRound: times,
      medianTasksPerMs: rate,
    })),
  };
}
