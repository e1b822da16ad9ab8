/** 6. Main-loop responsiveness: event-loop delay while the threads are saturated with CPU work. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { type Bench, fmt, median, type Section } from './harness';
import { spinOnEveryLibrary } from './peers';
import { roundsFor, work } from './work';

const resolutionMs = 1;

interface Row {
  readonly label: string;
  readonly p50: number[];
  readonly p99: number[];
  readonly max: number[];
}

export const loop: Bench = {
  name: 'loop',
  title: 'Main-loop responsiveness under CPU load',
  steps: () => 7,
  async run(config, progress) {
    const count = config.quick ? 16 : 64;
    const rounds = roundsFor(20);
    const inputs = Array.from({ length: count }, () => rounds);
    const rows: Row[] = [];
    const measure = async (label: string, once: () => Promise<unknown>) => {
      await once(); // warm-up
      const row: Row = { label, p50: [], p99: [], max: [] };
      for (let r = 0; r < config.repeats; r++) {
        const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
        histogram.enable();
        await once();
        histogram.disable();
        // The histogram records each timer interval whole; the delay is what exceeds the interval.
        const delay = (ns: number) => Math.max(0, ns / 1e6 - resolutionMs);
        row.p50.push(delay(histogram.percentile(50)));
        row.p99.push(delay(histogram.percentile(99)));
        row.max.push(delay(histogram.max));
      }
      rows.push(row);
      progress.tick(label);
    };

    await measure('idle (no work, for reference)', () => sleep(config.quick ? 200 : 600));
    await measure('main thread (sync, yielding between tasks)', async () => {
      for (const n of inputs) {
        work.spin(n);
        await yieldToLoop();
      }
    });
    await spinOnEveryLibrary(config.threads, inputs, measure);
    return report(rows, count, config.threads);
  },
};

function report(rows: Row[], count: number, threads: number): Section {
  const ours = rows.find((row) => row.label.startsWith('rxthreads'))!;
  const p99 = median(ours.p99);
  return {
    name: 'loop',
    title: 'Main-loop responsiveness under CPU load',
    notes: [
      `Event-loop delay on the main thread (perf_hooks.monitorEventLoopDelay, ${resolutionMs} ms resolution; the delay beyond the timer's interval) while ${count} tasks of about 20 ms run on ${threads} threads, which keeps them all busy. Median over the repeats of each repeat's p50, p99 and max.`,
    ],
    tables: [
      {
        head: ['library', 'p50 ms', 'p99 ms', 'max ms'],
        rows: rows.map((row) => [row.label, fmt(median(row.p50), 2), fmt(median(row.p99), 2), fmt(median(row.max), 2)]),
      },
    ],
    targets: [
      {
        label: 'main-loop delay p99 under 5 ms while offloadToThread saturates the threads',
        met: p99 < 5,
        measured: `p99 ${fmt(p99, 2)} ms`,
      },
    ],
  };
}
