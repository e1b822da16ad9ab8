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
    const rounds = config.repeats * 4;
    const values = Array.from({ length: n }, (_, i) => i);
    const expected = (n * (n + 1)) / 2;
    const rows: string[][] = [];
    const overheads: number[] = [];
    const cpuCosts: number[] = [];
    for (const [label, once] of [
      ['offloadToThread', viaStream],
      ['pool.run', viaRun],
    ] as const) {
      const pool = await openRxthreads(config.threads);
      const recorder = threadEngineOf(pool).metrics;
      const times = { on: [] as number[], off: [] as number[] };
      const cpu = { on: [] as number[], off: [] as number[] };
      await once(pool, values); // warm-up
      for (let round = 0; round < rounds; round++) {
        // Alternate which goes first, so that neither always runs on a warmer or quieter machine.
        const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
        for (const mode of order) {
          recorder.enabled = mode === 'on';
          const start = performance.now();
          const cpuStart = process.cpuUsage();
          check(await once(pool, values), expected, `${label} (metrics ${mode})`);
          times[mode].push(performance.now() - start);
          const used = process.cpuUsage(cpuStart);
          cpu[mode].push((used.user + used.system) / n); // µs of CPU (every thread of the process) per task
        }
      }
      recorder.enabled = true;
      const recorded = pool.stats().runTime.count;
      await pool.close();
      const on = n / median(times.on);
      const off = n / median(times.off);
      const overhead = (1 - on / off) * 100;
      overheads.push(overhead);
      const cpuOff = median(cpu.off);
      const cpuOn = median(cpu.on);
      cpuCosts.push((cpuOn / cpuOff - 1) * 100);
      rows.push([
        label,
        fmt(off, 1),
        fmt(on, 1),
        `${sig(overhead)} %`,
        `${sig(cpuOff)} / ${sig(cpuOn)}`,
        `${sig((cpuOn / cpuOff - 1) * 100)} %`,
        fmt(recorded),
      ]);
      progress.tick(label);
    }
    const worst = Math.max(...cpuCosts);
    return {
      name: 'metrics',
      title: 'Metrics: what recording costs',
      notes: [
        `${fmt(n)} tasks of \`x + 1\` per repeat on ${config.threads} threads; ${rounds} repeats with recording on and ${rounds} off, interleaved; median of each.`,
        'Recording: each thread records the run and wait time of each task it ran into its own two histograms, shared with the main thread. What stays on in both modes: the submission time (one clock reading per 64 submissions made in a row) and the start and busy times threads write to shared memory, which the timeout option and utilization need too.',
        'CPU µs per task is the process’s CPU time (main and pool threads) per task, a steadier measure than throughput on a shared machine. A negative cost is noise: the two medians are within the run-to-run spread.',
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
