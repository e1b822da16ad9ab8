// What the throughput sections (tiny on Node, browser in Chromium) share: cases grouped in
// families (one library's configurations), whose fastest in the run is that library's baseline;
// and the round-trip table of the latency sections (latency on Node, browser in Chromium).
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

/** The fastest raw loop that sends plain arrays: the limit of message passing the targets name. */
export function bestPlainArrayLoop<R extends Measured>(rows: readonly R[]): R {
  return bestOf(
    rows.filter((row) => row.config?.startsWith('Array,')),
    'raw loop',
  );
}

/** A row of a throughput table: the case, its tasks, median ms, tasks/ms, spread, and its ratio to each of `bases`. */
export function throughputLine(row: Measured, label: string, bases: readonly Measured[]): string[] {
  return [
    label,
    fmt(row.tasks),
    sig(median(row.times)),
    sig(row.rate),
    rateSpread(row),
    ...bases.map((base) => `${sig(row.rate / base.rate)}×`),
  ];
}

/** A library's round trips: the median and p99 of each repeat, in µs. */
export interface RoundTrips {
  readonly label: string;
  readonly calls: number;
  readonly p50: number[];
  readonly p99: number[];
}

/**
 * The round-trip table, each row against the raw `postMessage` row (the one whose label starts
 * with 'raw'); `base` is that row's median, in µs.
 */
export function roundTripTable(rows: readonly RoundTrips[], first: string): { table: Table; base: number } {
  const base = median(rows.find((row) => row.label.startsWith('raw'))!.p50);
  const table: Table = {
    head: [first, 'calls', 'median µs', 'p99 µs', '× raw postMessage'],
    rows: rows.map((row) => [
      row.label,
      fmt(row.calls),
      fmt(median(row.p50), 1),
      fmt(median(row.p99), 1),
      `${fmt(median(row.p50) / base, 2)}×`,
    ]),
  };
  return { table, base };
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
