import { expect } from 'chai';
import { offloadFrom, ThreadPool } from 'rxthreads';
import { record, scale } from '../helpers';

describe('memory', function () {
  this.timeout(300_000);
  const items = scale(100_000, 1_000_000);

  it(`processes ${items} items of 1 KiB from an async iterable with peak RSS growth under 150 MB`, async () => {
    const pool = new ThreadPool({ size: 2 });
    try {
      await pool.run((x: number) => x, 0);
      async function* kilobytes() {
        for (let i = 0; i < items; i++) yield new Uint8Array(1024).fill(i & 0xff);
      }
      const baseline = process.memoryUsage.rss();
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }, 10);
      let count = 0;
      let checksum = 0;
      const started = Date.now();
      await new Promise<void>((resolve, reject) =>
        offloadFrom(kilobytes(), (bytes: Uint8Array) => bytes[0]! + bytes[1023]!, { pool, ordered: false }).subscribe({
          next: (v) => {
            count++;
            checksum += v;
          },
          error: reject,
          complete: resolve,
        }),
      );
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage.rss());
      const growthMb = (peak - baseline) / 1024 / 1024;
      expect(count).to.equal(items);
      let expected = 0;
      for (let i = 0; i < items; i++) expected += 2 * (i & 0xff);
      expect(checksum).to.equal(expected);
      expect(growthMb).to.be.lessThan(150);
      record(`items of 1 KiB through offloadFrom`, items);
      record('peak RSS growth (MB)', Math.round(growthMb * 10) / 10);
      record('items per second', Math.round(items / ((Date.now() - started) / 1000)));
    } finally {
      await pool.terminate();
    }
  });
});
