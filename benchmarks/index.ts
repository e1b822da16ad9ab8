/**
 * `npm run bench [-- name ...] [--quick]`: runs the benchmarks (all, or those named), prints a
 * table per benchmark and writes the report to benchmarks/results/. A full run of all of them
 * writes latest.md, latest.json (every timed repeat) and latest.svg; a quick or partial run writes
 * run.md, run.json and run.svg instead.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release } from 'node:os';
import { join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { browser } from './browser';
import { cancel } from './cancel';
import { cpu } from './cpu';
import type { Bench, Chart, Config, Section } from './harness';
import { latency } from './latency';
import { loop } from './loop';
import { memory } from './memory';
import { metrics } from './metrics';
import { payload } from './payload';
import { remote } from './remote';
import { type Machine, markdown, terminal } from './report';
import { scale } from './scale';
import { streams } from './streams';
import { svgChart } from './svg';
import { tiny } from './tiny';

const benches: Bench[] = [tiny, scale, latency, cpu, payload, cancel, loop, memory, streams, metrics, remote, browser];

function versions(): string {
  const root = join(__dirname, '..');
  const version = (dir: string) =>
    (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const packages = ['piscina', 'workerpool', 'threads', 'comlink', 'rxjs', 'bullmq'];
  return [
    `rxthreads ${version(root)}`,
    ...packages.map((name) => `${name} ${version(join(root, 'node_modules', name))}`),
  ].join(', ');
}

function parse(argv: string[]): { names: string[]; quick: boolean } {
  const quick = argv.includes('--quick');
  const names = argv.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !benches.some((bench) => bench.name === name));
  if (unknown.length > 0 || argv.some((arg) => arg.startsWith('--') && arg !== '--quick')) {
    console.error(`Usage: npm run bench -- [${benches.map((b) => b.name).join('|')} ...] [--quick]`);
    process.exit(2);
  }
  return { names, quick };
}

async function main(): Promise<void> {
  const { names, quick } = parse(process.argv.slice(2));
  const selected = names.length === 0 ? benches : benches.filter((bench) => names.includes(bench.name));
  const config: Config = { quick, threads: availableParallelism(), repeats: quick ? 3 : 5 };
  const loadStart = loadavg();
  const started = Date.now();
  const bar = new SingleBar(
    { format: 'bench [{bar}] {percentage}% | {value}/{total} | {bench}: {case}', stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(
    selected.reduce((sum, bench) => sum + bench.steps(config), 0),
    0,
    { bench: '', case: 'starting' },
  );
  const sections: Section[] = [];
  for (const bench of selected) {
    bar.update({ bench: bench.name, case: '' });
    sections.push(await bench.run(config, { tick: (label) => bar.increment({ bench: bench.name, case: label }) }));
  }
  bar.stop();
  const machine: Machine = {
    cores: availableParallelism(),
    model: cpus()[0]?.model.trim() ?? 'unknown CPU',
    node: process.version,
    platform: `${platform()} ${release()}`,
    date: new Date(started).toISOString(),
    loadStart,
    loadEnd: loadavg(),
    seconds: Math.round((Date.now() - started) / 1000),
    quick,
    repeats: config.repeats,
    threads: config.threads,
    versions: versions(),
  };
  process.stdout.write(terminal(sections, machine));
  const full = !quick && selected.length === benches.length;
  const base = full ? 'latest' : 'run';
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const charts = sections.map((section) => section.chart).filter((chart): chart is Chart => chart !== undefined);
  const svgName = charts.length > 0 ? `${base}.svg` : undefined;
  if (svgName !== undefined) {
    const caption = `${machine.cores} cores (${machine.model}), Node ${machine.node}, ${machine.date.slice(0, 10)}, load ${machine.loadStart[0]!.toFixed(2)} at start`;
    writeFileSync(join(dir, svgName), svgChart(charts, caption));
  }
  writeFileSync(join(dir, `${base}.md`), markdown(sections, machine, svgName));
  // Every timed repeat behind the tables, so that any figure can be recomputed or compared.
  const data = sections.map(({ name, title, data }) => ({ name, title, data: data ?? null }));
  writeFileSync(join(dir, `${base}.json`), `${JSON.stringify({ machine, sections: data }, null, 1)}\n`);
  console.log(`Written: benchmarks/results/${base}.md, ${base}.json${svgName ? ` and ${svgName}` : ''}`);
  // Sections with a report of their own (the browser's): written by any run that is not quick.
  for (const [i, section] of sections.entries()) {
    if (quick || selected[i]!.ownReport !== true) continue;
    writeFileSync(join(dir, `${section.name}.md`), markdown([section], machine, undefined));
    const own = { machine, sections: [{ name: section.name, title: section.title, data: section.data ?? null }] };
    writeFileSync(join(dir, `${section.name}.json`), `${JSON.stringify(own, null, 1)}\n`);
    console.log(`Written: benchmarks/results/${section.name}.md and ${section.name}.json`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
