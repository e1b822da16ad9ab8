/**
 * What recording `stats()` metrics (run and wait time histograms) costs: tiny-task throughput with
 * recording on and off, the two interleaved so that a shared machine's noise hits both alike.
 */
import { from, lastValueFrom, reduce } from 'rxjs';
import { offloadToThread, type ThreadPool } from 'rxthreads';
// The same module instance as the package's entry (both load dist/): the switch for this benchmark.
import { threadEngineOf } from '../dist/lib/owners/owner';
import { type Bench, check, fmt, median, sig } from './harness';
import { openRxthreads, rxTask } from './peers';

function viaStream(pool: ThreadPool, values: number[]): Promise<number> {
  return lastValueFrom(
    from(values).pipe(
      offloadToThread(rxTask<number, number>('inc'), { pool }),
      reduce((sum, x) => sum + x, 0),
    ),
  );
}

async function viaRun(pool: ThreadPool, values: number[]): Promise<number> {
  const out = await Promise.all(values.map((x) => pool.run(rxTask<number, number>('inc'), x)));
  return out.reduce((a, b) => a + b, 0);
}

export const metrics: Bench = {
  name: 'metrics',
  title: 'Metrics: what recording costs',
  steps: () => 2,
  async run(config, progress) {
    const n = config.quick ? 20_000 : 100_000;
    // Rounds of each path: at least `minRounds`, then more until `budgetMs` has passed. A round's CPU
    // time swings by a fifth or more on a shared machine; the median of many paired rounds does not.
    const minRounds = config.repeats * 4;
    const budgetMs = config.quick ? 2_000 : 12_000;
    const roundCounts: number[] = [];
    const rows: string[][] = [];
    const overheads: number[] = [];
    const cpuCosts: number[] = [];
    /** Every timed round of each path, for the run's JSON file. */
    const data: Record<
      string,
      { ms: { on: number[]; off: number[] }; cpuMicrosPerTask: { on: number[]; off: number[] } }
    > = {};
    // pool.run's rounds are smaller: a call costs about ten times a stream's value, and the same
    // budget then holds as many rounds of each.
    for (const [label, once, size] of [
      ['offloadToThread', viaStream, n],
      ['pool.run', viaRun, n / 10],
    ] as const) {
      const values = Array.from({ length: size }, (_, i) => i);
      const expected = (size * (size + 1)) / 2;
      const pool = await openRxthreads(config.threads);
      const recorder = threadEngineOf(pool).metrics;
      const times = { on: [] as number[], off: [] as number[] };
      const cpu = { on: [] as number[], off: [] as number[] };
      await once(pool, values); // warm-up
      const began = performance.now();
      let round = 0;
      for (; round < minRounds || performance.now() - began < budgetMs; round++) {
        // Alternate which goes first, so that neither always runs on a warmer or quieter machine.
        const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
        for (const mode of order) {
          recorder.enabled = mode === 'on';
          const start = performance.now();
          const cpuStart = process.cpuUsage();
          check(await once(pool, values), expected, `${label} (metrics ${mode})`);
          times[mode].push(performance.now() - start);
          const used = process.cpuUsage(cpuStart);
          cpu[mode].push((used.user + used.system) / size); // µs of CPU (every thread of the process) per task
        }
      }
      recorder.enabled = true;
      const recorded = pool.stats().runTime.count;
      await pool.close();
      const on = size / median(times.on);
      const off = size / median(times.off);
      const overhead = (1 - on / off) * 100;
      overheads.push(overhead);
      roundCounts.push(round);
      data[label] = { ms: times, cpuMicrosPerTask: cpu };
      const cpuOff = median(cpu.off);
      const cpuOn = median(cpu.on);
      // Each round's on and off ran back to back: the median of their ratios follows the machine's
      // drift over the rounds less than the ratio of the two medians does.
      const cpuCost = median(cpu.on.map((on, round) => (on / cpu.off[round]! - 1) * 100));
      cpuCosts.push(cpuCost);
      rows.push([
        label,
        fmt(off, 1),
        fmt(on, 1),
        `${sig(overhead)} %`,
        `${sig(cpuOff)} / ${sig(cpuOn)}`,
        `${sig(cpuCost)} %`,
        fmt(recorded),
      ]);
      progress.tick(label);
    }
    const worst = Math.max(...cpuCosts);
    return {
      name: 'metrics',
      title: 'Metrics: what recording costs',
      notes: [
        `${fmt(n)} tasks of \`x + 1\` per repeat through offloadToThread and ${fmt(n / 10)} through pool.run, on ${config.threads} threads; with recording on and off in turn, ${roundCounts.map((count) => fmt(count)).join(' and ')} times each (at least ${minRounds}, then until ${fmt(budgetMs / 1000)} s had passed); median of each.`,
        'Recording: each thread records the run and wait time of each task it ran into its own two histograms, shared with the main thread. What stays on in both modes: the submission time (one clock reading per 64 submissions made in a row) and the start and busy times threads write to shared memory, which the timeout option and utilization need too.',
        'CPU µs per task is the process’s CPU time (main and pool threads) per task, a steadier measure than throughput on a shared machine. The CPU cost is the median over the rounds of each round’s on/off ratio (the two ran back to back); the run’s JSON file has every round. A negative cost is noise: the two are within the run-to-run spread.',
      ],
      tables: [
        {
          head: [
            'path',
            'tasks/ms, off',
            'tasks/ms, on',
            'throughput cost',
            'CPU µs per task, off / on',
            'CPU cost',
            'tasks recorded',
          ],
          rows,
        },
      ],
      data,
      targets: [
        {
          label: 'recording metrics costs < 5% of tiny-task throughput (as CPU time per task)',
          met: worst < 5,
          measured: `${sig(worst)} % CPU (worst path); median throughput ${overheads.map((o) => `${sig(o)} %`).join(' / ')}`,
        },
      ],
    };
  },
};
