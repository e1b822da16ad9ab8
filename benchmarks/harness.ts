/** What every benchmark shares: its shape, the run's settings, and the statistics. */

export interface Config {
  readonly quick: boolean;
  /** Threads each library's pool gets: the machine's cores. */
  readonly threads: number;
  /** Timed repeats per case (after a warm-up). */
  readonly repeats: number;
}

export interface Progress {
  /** One case is done. */
  tick(label: string): void;
}

export interface Table {
  readonly head: string[];
  readonly rows: string[][];
}

export interface Target {
  readonly label: string;
  /** undefined: the case did not run. */
  readonly met: boolean | undefined;
  readonly measured: string;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly ours: boolean;
}

export interface Chart {
  readonly title: string;
  readonly unit: string;
  readonly bars: Bar[];
  /** A reference line, e.g. the ideal speedup. */
  readonly line?: { readonly label: string; readonly value: number };
}

export interface Section {
  readonly name: string;
  readonly title: string;
  readonly notes: string[];
  readonly tables: Table[];
  readonly targets: Target[];
  readonly chart?: Chart;
  /** The measurements behind the tables (every timed repeat), written to the run's JSON file. */
  readonly data?: unknown;
}

export interface Bench {
  readonly name: string;
  readonly title: string;
  /**
   * Also written on its own, as results/<name>.md and <name>.json, by any run that is not
   * `--quick` (a section run alone otherwise lands only in the git-ignored run.md).
   */
  readonly ownReport?: boolean;
  /** Cases it will tick, for the progress bar. */
  steps(config: Config): number;
  run(config: Config, progress: Progress): Promise<Section>;
}

/** Marks a capability a library does not have; the report prints the reason, not a number. */
export class Unsupported {
  constructor(readonly reason: string) {}
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `warm` (not counted), then `once` `repeats` times; returns each repeat's duration in ms. */
export async function timeRepeats(
  repeats: number,
  once: () => Promise<void>,
  warm: () => Promise<void> = once,
): Promise<number[]> {
  await warm();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = nowMs();
    await once();
    times.push(nowMs() - start);
  }
  return times;
}

export interface TimedCase {
  readonly label: string;
  /** One repeat. A case that times itself (in another process, say) resolves to its duration in ms. */
  once(): Promise<number | undefined>;
  /** The warm-up; `once` if not given. */
  warm?(): Promise<unknown>;
}

/**
 * Warms every case (`warm`, or one `once`), then runs `rounds` rounds in each of which every case
 * runs once, in order; returns each case's durations in ms. Interleaved rounds let a change in the
 * machine's load (it is shared) fall on every case alike, so that ratios between cases stay fair
 * where one case after another would each meet a different load. No garbage collection is forced
 * between cases: a full collection discards optimized code that holds objects it frees (rxjs' and
 * rxthreads' per-subscription objects among them), so that a forced one before every case made
 * the next stream pay to optimize again (20,000 values through offloadToThread took 3-4 times as
 * long), where a program's own full collections come far less often.
 */
export async function interleave(
  cases: readonly TimedCase[],
  rounds: number,
  onRound: (round: number) => void = () => {},
): Promise<number[][]> {
  for (const c of cases) await (c.warm === undefined ? c.once() : c.warm());
  onRound(0);
  const times = cases.map((): number[] => []);
  for (let round = 1; round <= rounds; round++) {
    for (const [i, c] of cases.entries()) {
      const start = nowMs();
      const own = await c.once();
      times[i]!.push(own ?? nowMs() - start);
    }
    onRound(round);
  }
  return times;
}

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A number with about three significant digits. */
export function sig(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  return fmt(value, abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${sig(value)}×` : 'n/a';
}

export function check(sum: number, expected: number, what: string): void {
  if (sum !== expected) throw new Error(`${what}: wrong results (checksum ${sum}, expected ${expected})`);
}
