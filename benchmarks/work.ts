/** The worker functions, for the main-thread baseline, and the calibration of the CPU work. */
import { median, nowMs } from './harness';

interface Work {
  inc(x: number): number;
  spin(n: number): number;
  touch(bytes: Uint8Array): Uint8Array;
}

export const work: Work = require('./workers/work.cjs');

let calibrated: number | undefined;

/** Rounds of `spin` that take about `ms` on the main thread (measured once per run). */
export function roundsFor(ms: number): number {
  if (calibrated === undefined) {
    const probe = 1_000_000;
    for (let i = 0; i < 20; i++) work.spin(probe);
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const start = nowMs();
      work.spin(probe);
      times.push(nowMs() - start);
    }
    calibrated = probe / median(times);
  }
  return Math.round(calibrated * ms);
}
