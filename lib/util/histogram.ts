/**
 * A histogram of durations in shared memory: one thread records into it, any thread reads it.
 *
 * Log-linear buckets, as HdrHistogram: exact below 128 µs, then 128 buckets per power of two (under
 * 1% error), up to 2^53 µs, in fixed memory (48 KiB). Recording is a few arithmetic operations and
 * one increment (about 4 ns); a `perf_hooks` histogram's `record()` crosses into C++ and takes a
 * lock (about 25 ns), which is several percent of a tiny task's whole cost.
 */

/**
 * A summary of task durations in ms, over every task that ran (bounded memory: a histogram with
 * under 1% error, not a list of samples).
 *
 * @example
 * ```ts
 * const { p99, count } = pool.stats().runTime;
 * ```
 */
export interface TimeSummary {
  /** Tasks measured. */
  count: number;
  /** Mean ms (0 when none). */
  mean: number;
  /** Median ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** A duration as a histogram holds it: whole µs, at least 1. */
export function toMicros(ms: number): number {
  return ms >= 0.001 ? Math.round(ms * 1000) : 1;
}

const linear = 128;
const subBits = 7;
const subBuckets = 1 << subBits;
/** Powers of two from 2^7 to 2^52. */
const exponents = 46;
const buckets = linear + exponents * subBuckets;
const Count = buckets;
const Sum = buckets + 1;
const Max = buckets + 2;
const length = buckets + 3;

/** A new, empty histogram's memory. */
export function histogramBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT);
}

function bucketOf(value: number): number {
  if (value < linear) return value;
  if (value < 2 ** 31) {
    const exponent = 31 - Math.clz32(value);
    return linear + (exponent - subBits) * subBuckets + ((value >>> (exponent - subBits)) & (subBuckets - 1));
  }
  const exponent = Math.min(52, Math.floor(Math.log2(value)));
  const sub = Math.min(subBuckets - 1, Math.floor(value / 2 ** (exponent - subBits)) - subBuckets);
  return linear + (exponent - subBits) * subBuckets + sub;
}

/** The highest value a bucket holds. */
function upperOf(bucket: number): number {
  if (bucket < linear) return bucket;
  const exponent = subBits + Math.floor((bucket - linear) / subBuckets);
  const width = 2 ** (exponent - subBits);
  return (subBuckets + ((bucket - linear) % subBuckets)) * width + width - 1;
}

/** Records a whole number of µs, at least 1, `times` times (single writer). */
export function record(histogram: Float64Array, micros: number, times = 1): void {
  const value = Math.max(micros, 1);
  histogram[bucketOf(value)]! += times;
  histogram[Count]! += times;
  histogram[Sum]! += value * times;
  if (value > histogram[Max]!) histogram[Max] = value;
}

/** Adds `source` into `target`. */
export function addInto(target: Float64Array, source: Float64Array): void {
  for (let i = 0; i < buckets; i++) if (source[i] !== 0) target[i]! += source[i]!;
  target[Count]! += source[Count]!;
  target[Sum]! += source[Sum]!;
  target[Max] = Math.max(target[Max]!, source[Max]!);
}

/** Count, mean, percentiles and max, in ms. */
export function summarize(histogram: Float64Array): TimeSummary {
  const count = histogram[Count]!;
  if (count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const max = histogram[Max]!;
  const percentiles = [50, 90, 99];
  const found: number[] = [];
  let seen = 0;
  for (let bucket = 0; bucket < buckets && found.length < percentiles.length; bucket++) {
    seen += histogram[bucket]!;
    while (
      found.length < percentiles.length &&
      seen >= Math.max(1, Math.ceil((percentiles[found.length]! / 100) * count))
    ) {
      found.push(Math.min(upperOf(bucket), max));
    }
  }
  const ms = (micros: number) => micros / 1000;
  return {
    count,
    mean: ms(histogram[Sum]! / count),
    p50: ms(found[0] ?? max),
    p90: ms(found[1] ?? max),
    p99: ms(found[2] ?? max),
    max: ms(max),
  };
}
