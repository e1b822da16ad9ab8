/** 7. Memory: peak RSS while a stream of tiny tasks runs, each case in a fresh process. */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Bench, fmt, type Section, type Target, Unsupported } from './harness';

const run = promisify(execFile);
const root = resolve(__dirname, '..');

/** What `memory-child.ts` prints: RSS and heap in bytes, durations in ms. */
export interface Measured {
  readonly baseline: number;
  readonly peak: number;
  readonly ms: number;
  readonly heapBaseline: number;
  readonly heapPeak: number;
  readonly heapAfter: number;
  /** The timed runs after the measured one (with `repeats` only). */
  readonly times: number[];
}

interface Row {
  readonly label: string;
  readonly items: number;
  readonly result: Measured | Unsupported;
  readonly ours: boolean;
}

// Through ts-node's own entry rather than `-r ts-node/register`: worker threads inherit execArgv,
// and would each load ts-node.
const tsNode = require.resolve('ts-node/dist/bin');

/** Runs one case of memory-child.ts in a fresh process; see that file for `repeats`. */
export async function child(name: string, items: number, threads: number, repeats?: number): Promise<Measured> {
  const args = ['--expose-gc', tsNode, join(__dirname, 'memory-child.ts'), name, `${items}`, `${threads}`];
  if (repeats !== undefined) args.push(`${repeats}`);
  const { stdout } = await run(process.execPath, args, { cwd: root, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Measured;
}

export const memory: Bench = {
  name: 'memory',
  title: 'Memory: peak RSS of a stream',
  steps: () => 10,
  async run(config, progress) {
    const big = config.quick ? 100_000 : 1_000_000;
    const small = config.quick ? 10_000 : 100_000;
    const rows: Row[] = [];
    const add = async (label: string, name: string, items: number, ours: boolean) => {
      rows.push({ label, items, result: await child(name, items, config.threads), ours });
      progress.tick(`${label} (${fmt(items)})`);
    };
    await add('main thread (sync loop)', 'sync', big, false);
    await add('rxthreads offloadToThread (push: range)', 'offloadToThread', big, true);
    await add('rxthreads offloadFrom (pull: generator)', 'offloadFrom', big, true);
    await add('raw worker_threads (256 values per message)', 'raw-batched', big, false);
    await add('rxthreads offloadToThread (push: range)', 'offloadToThread', small, true);
    await add('rxthreads offloadFrom (pull: generator)', 'offloadFrom', small, true);
    await add('piscina', 'piscina', small, false);
    await add('workerpool', 'workerpool', small, false);
    await add('raw worker_threads (1 message per task)', 'raw worker_threads', small, false);
    rows.push({
      label: 'threads.js Pool',
      items: small,
      result: new Unsupported('not run (about 1 task/ms)'),
      ours: false,
    });
    progress.tick('threads.js Pool');
    return report(rows, big, small);
  },
};

const mb = (bytes: number) => fmt(bytes / 2 ** 20, 1);

function report(rows: Row[], big: number, small: number): Section {
  return {
    name: 'memory',
    title: 'Memory: peak RSS of a stream',
    notes: [
      `Each case runs in a fresh Node process (started the same way for all) with its pool already warm: \`x + 1\` over ${fmt(big)} items for rxthreads and the batched raw baseline, and over ${fmt(small)} items for every library (the peers run tens of tasks per ms, see the tiny-task table, so 1,000,000 would take minutes each; threads.js, at about 1 task per ms, is left out). Baseline: RSS before the stream; peak: the highest RSS during it (sampled every 5 ms, and the kernel's high-water mark); growth: peak − baseline. Worker threads live in the same process, so their memory counts. The peers and \`offloadToThread\` over \`range\` take every value at once (\`Promise.all\` / a synchronous source); \`offloadFrom\` reads only while fewer than \`highWaterMark\` (default 4,096) values are read and not yet emitted.`,
    ],
    tables: [
      {
        head: ['case', 'items', 'baseline MiB', 'peak MiB', 'growth MiB', 'seconds'],
        rows: rows.map(({ label, items, result }) =>
          result instanceof Unsupported
            ? [label, fmt(items), result.reason, '', '', '']
            : [
                label,
                fmt(items),
                mb(result.baseline),
                mb(result.peak),
                mb(result.peak - result.baseline),
                fmt(result.ms / 1000, 2),
              ],
        ),
      },
    ],
    targets: targets(rows),
  };
}

/** Round 2: 1,000,000 values pushed by a synchronous `range` wait in a compact backlog. */
function targets(rows: Row[]): Target[] {
  const row = rows.find((r) => r.label.startsWith('rxthreads offloadToThread') && r.items >= 1_000_000);
  if (row === undefined || row.result instanceof Unsupported) return [];
  const growth = (row.result.peak - row.result.baseline) / 1e6;
  return [
    {
      label: '1,000,000 values from a synchronous range through offloadToThread: peak RSS growth ≤ 100 MB',
      met: growth <= 100,
      measured: `${fmt(growth, 1)} MB`,
    },
  ];
}
