/**
 * `npm run soak`: runs the reliability specs at soak scale and writes docs/reliability.md from
 * the figures they record.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const report = join(mkdtempSync(join(tmpdir(), 'rxthreads-soak-')), 'figures.jsonl');
const started = Date.now();
const mocha = spawnSync(
  process.execPath,
  [
    require.resolve('mocha/bin/mocha.js'),
    '--no-config',
    '-r',
    'ts-node/register',
    '-r',
    './spec/setup.ts',
    '--extension',
    'ts',
    '-t',
    '600000',
    'spec/reliability/*.spec.ts',
  ],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RXTHREADS_SOAK: '1', RXTHREADS_REPORT: report },
    encoding: 'utf8',
  },
);
process.stdout.write(mocha.stdout);
const passing = Number(/(\d+) passing/.exec(mocha.stdout)?.[1] ?? 0);
const failing = Number(/(\d+) failing/.exec(mocha.stdout)?.[1] ?? 0);
const figures = existsSync(report)
  ? readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { name: string; value: number | string })
  : [];
const faults = figures.filter((f) => f.name.startsWith('fault survived'));
const faultRuns = faults.reduce((sum, f) => sum + Number(f.value), 0);
const lines = [
  '# Reliability',
  '',
  'Produced by `npm run soak`, which runs `spec/reliability/` at soak scale (the same specs run at a',
  'smaller scale in `npm test`). Every figure below was recorded by the run itself.',
  '',
  `- Date: ${new Date().toISOString()}`,
  `- Machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')}`,
  `- Duration: ${Math.round((Date.now() - started) / 1000)} s`,
  `- Specs: ${passing} passing, ${failing} failing`,
  `- Fault kinds tried: ${faults.length}, fault injections in all: ${faultRuns}, each beside 40 healthy tasks`,
  `- Leaks found: ${failing === 0 ? 0 : 'see the failing specs above'}`,
  '',
  '| figure | value |',
  '| --- | --- |',
  ...figures.map((f) => `| ${f.name} | ${f.value} |`),
  '',
  '## What the specs check',
  '',
  '- **exactly-once.spec.ts**: random sources, task durations, concurrency, ordered/unordered, failures and',
  '  unsubscribe moments, through `offloadToThread` and `runOnLoop` (fast-check). Each value yields exactly one',
  '  output until the stream ends, order holds when asked, at most `concurrency` run at once, and after the end',
  '  nothing runs and no value starts.',
  '- **faults.spec.ts**: `process.exit`, an error thrown later from a timer, an unhandled rejection, out of',
  '  memory under `resourceLimits`, an infinite loop and a never-settling task (both cancelled), a throwing task,',
  '  an unclonable result; each fails only its own task with the documented error and the pool heals.',
  '- **leaks.spec.ts**: subscribe/unsubscribe cycles with a task running in a thread each time (`offloadToThread`',
  '  and `runOnLoop`); thread count, process listeners and heap (after GC) return to where they were, and the OS',
  '  thread count (from `/proc/self/status`) returns to its start once the owners are done. `inThread`',
  '  subscriptions unsubscribed mid-stream leave no thread behind.',
  '- **memory.spec.ts**: 1 KiB items from an async generator through `offloadFrom`, which reads the source only',
  '  while fewer than `highWaterMark` (default 4096) values are read and not yet emitted; peak RSS growth is',
  '  sampled every 10 ms.',
  '',
];
const target = join(root, 'docs', 'reliability.md');
writeFileSync(target, lines.join('\n'));
// Formatted as `npm test` checks it.
spawnSync(process.execPath, [require.resolve('@biomejs/biome/bin/biome'), 'format', '--write', target], { cwd: root });
console.log(`wrote docs/reliability.md (${passing} passing, ${failing} failing)`);
process.exit(mocha.status ?? 1);
