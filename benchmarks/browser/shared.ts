// What the browser benchmark's page (page.ts) and its Node side (../browser.ts) share: the groups,
// one page each, and the shape of what a page offers.

export const groups = [
  'references',
  'rxthreads',
  'rxthreads-plain',
  'workerpool',
  'threads.js',
  'comlink',
  'raw',
] as const;
export type Group = (typeof groups)[number];

/** The configurations of one library or way, whose fastest is its baseline row. */
export type Family = 'rxthreads pool.run' | 'workerpool' | 'threads.js Pool' | 'comlink' | 'raw loop';

/** A throughput case, as the benchmark sees it. */
export interface CaseInfo {
  readonly label: string;
  readonly family?: Family;
  /** The configuration, within its family. */
  readonly config?: string;
  readonly tasks: number;
  readonly ours: boolean;
}

/** A round-trip case: one call at a time, the next once the last is back. */
export interface LatencyInfo {
  readonly label: string;
  readonly ours: boolean;
  readonly calls: number;
}

/** What a page sets as `globalThis.bench` once its pools are open (or `globalThis.benchError`). */
export interface BenchPage {
  readonly userAgent: string;
  readonly crossOriginIsolated: boolean;
  readonly cases: CaseInfo[];
  readonly latency: LatencyInfo[];
  /** Runs case `index` until it has run for `warmMs` (at least once, at most 20 times). */
  warm(index: number): Promise<void>;
  /** Runs case `index` untimed for `settleMs` (at least once), then once more, its results checked; the ms of that run. */
  run(index: number): Promise<number>;
  /** `repeats` times `calls` round trips of latency case `index`, after as many for warm-up: µs, per repeat. */
  roundTrips(index: number, repeats: number): Promise<{ p50: number[]; p99: number[] }>;
}

/** A case's warm-up: it runs until it has run this long in all. */
export const warmMs = 1_000;
/** In a round, a case runs untimed this long (at least once) before its timed run, as in the Node section (tiny.ts). */
export const settleMs = 300;
