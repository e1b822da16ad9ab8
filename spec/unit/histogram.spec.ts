import { expect } from 'chai';
import fc from 'fast-check';
import { addInto, histogramBuffer, record, summarize } from '../../lib/util/histogram';

const fresh = () => new Float64Array(histogramBuffer());

/** The nearest-rank percentile of sorted values. */
function exact(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('histogram (shared memory, log-linear)', () => {
  it('is empty at first', () => {
    expect(summarize(fresh())).to.deep.equal({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('holds values below 128 µs exactly, and reports ms', () => {
    const histogram = fresh();
    for (const micros of [1, 2, 3, 4, 100]) record(histogram, micros);
    expect(summarize(histogram)).to.deep.equal({ count: 5, mean: 0.022, p50: 0.003, p90: 0.1, p99: 0.1, max: 0.1 });
  });

  it('keeps percentiles within 1% of the exact ones, and count, mean and max exact', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: 1, maxLength: 300 }), (values) => {
        const histogram = fresh();
        for (const value of values) record(histogram, value);
        const sorted = [...values].sort((a, b) => a - b);
        const summary = summarize(histogram);
        expect(summary.count).to.equal(values.length);
        expect(summary.max).to.equal(sorted.at(-1)! / 1000);
        expect(summary.mean).to.be.closeTo(values.reduce((a, b) => a + b, 0) / values.length / 1000, 1e-6);
        for (const [p, got] of [
          [50, summary.p50],
          [90, summary.p90],
          [99, summary.p99],
        ] as const) {
          const want = exact(sorted, p) / 1000;
          expect(got, `p${p}`)
            .to.be.at.least(want)
            .and.at.most(want * 1.01 + 0.001);
        }
      }),
    );
  });

  it('adds histograms up', () => {
    const a = fresh();
    const b = fresh();
    for (let i = 1; i <= 100; i++) record(i % 2 === 0 ? a : b, i * 1000);
    const total = fresh();
    addInto(total, a);
    addInto(total, b);
    const summary = summarize(total);
    expect(summary).to.include({ count: 100, max: 100 });
    expect(summary.p50).to.be.within(50, 50.5);
    expect(summary.mean).to.equal(50.5);
  });

  it('records values beyond 2^31 µs (35 minutes) and below 1 µs', () => {
    const histogram = fresh();
    record(histogram, 2 ** 45);
    record(histogram, 0);
    const summary = summarize(histogram);
    expect(summary.count).to.equal(2);
    expect(summary.max).to.equal(2 ** 45 / 1000);
    expect(summary.p50).to.equal(0.001);
    expect(summary.p99).to.be.at.least(2 ** 45 / 1000);
  });
});
