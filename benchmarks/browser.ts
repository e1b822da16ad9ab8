/**
 * 12. In the browser: tiny-task throughput and lone round trips in headless Chromium, for
 * rxthreads' browser build, workerpool, threads.js, comlink and a raw postMessage loop, each on
 * `threads` Web Workers, in one Chromium run.
 *
 * esbuild bundles browser/page.ts (which imports every library by name, so rxthreads comes from
 * dist/browser through its `browser` export condition) and each library's worker script; a server
 * on loopback serves them, with COOP and COEP headers under /isolated/ and without under /plain/.
 * Each library runs in a page of its own, with its pools open and idle but for the case being run,
 * and the rounds are interleaved across the pages, as the tiny-task section does across processes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import type { Page } from 'playwright-core';
import { chromiumPath, launchChromium } from '../spec/browser/harness';
import type { BenchPage, CaseInfo, Family, Group, LatencyInfo } from './browser/shared';
import { groups, settleMs, warmMs } from './browser/shared';
import { bestOf, bestPlainArrayLoop, casesData, configurationsTable, roundTripTable, throughputLine } from './families';
import { type Bench, fmt, interleave, median, type Section, type Table } from './harness';

const dir = join(__dirname, 'browser');
const root = join(__dirname, '..');

/** The page and the worker scripts, bundled: module scripts (ESM) and classic workers (IIFE). */
async function bundle(): Promise<Map<string, string>> {
  // workerpool's build requires worker_threads, os and child_process only where it finds Node:
  // left out of the bundle (its webpack 5 example does the same with resolve.fallback).
  const common: BuildOptions = {
    external: ['worker_threads', 'os', 'child_process'],
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    absWorkingDir: root,
    write: false,
    outdir: '/',
    logLevel: 'warning',
  };
  const [modules, classic] = await Promise.all([
    build({
      ...common,
      format: 'esm',
      entryPoints: {
        page: join(dir, 'page.ts'),
        work: join(dir, 'work.ts'),
        'comlink-worker': join(dir, 'comlink-worker.ts'),
      },
    }),
    build({
      ...common,
      format: 'iife',
      entryPoints: {
        'workerpool-worker': join(dir, 'workerpool-worker.ts'),
        'threads-worker': join(dir, 'threads-worker.ts'),
        'raw-worker': join(dir, 'raw-worker.ts'),
      },
    }),
  ]);
  const files = new Map<string, string>([
    [
      'index.html',
      '<!doctype html><title>rxthreads browser bench</title><script type="module" src="page.js"></script>',
    ],
  ]);
  for (const file of [...(modules.outputFiles ?? []), ...(classic.outputFiles ?? [])])
    files.set(file.path.slice(1), file.text);
  return files;
}

/** Serves `files` under /isolated/ (COOP and COEP on every response) and /plain/ (neither). */
async function serve(files: Map<string, string>): Promise<{ origin: string; server: Server }> {
  const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  const server = createServer((request, response) => {
    const [, mode, ...rest] = new URL(request.url ?? '/', 'http://localhost').pathname.split('/');
    const headers = mode === 'isolated' ? isolation : {};
    const body = files.get(rest.join('/'));
    if ((mode !== 'isolated' && mode !== 'plain') || body === undefined) {
      response.writeHead(404, headers).end();
      return;
    }
    const type = rest.at(-1)!.endsWith('.html') ? 'text/html' : 'text/javascript';
    response.writeHead(200, { ...headers, 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** A group's page, once its pools are open. */
async function openPage(
  context: import('playwright-core').BrowserContext,
  origin: string,
  group: Group,
  threads: number,
  quick: boolean,
) {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const mode = group === 'rxthreads-plain' ? 'plain' : 'isolated';
  await page.goto(
    `${origin}/${mode}/index.html?group=${encodeURIComponent(group)}&threads=${threads}${quick ? '&quick' : ''}`,
  );
  await page.waitForFunction(() => 'bench' in globalThis || 'benchError' in globalThis, undefined, { timeout: 60_000 });
  const failed = await page.evaluate(() => (globalThis as { benchError?: string }).benchError);
  if (failed !== undefined || errors.length > 0)
    throw new Error(`browser bench, page ${group}: ${failed ?? errors.join('; ')}`);
  const info = await page.evaluate(() => {
    const { userAgent, crossOriginIsolated, cases, latency } = (globalThis as unknown as { bench: BenchPage }).bench;
    return { userAgent, crossOriginIsolated, cases, latency };
  });
  if (info.crossOriginIsolated !== (mode === 'isolated'))
    throw new Error(`browser bench, page ${group}: crossOriginIsolated is ${info.crossOriginIsolated}`);
  return { page, group, errors, ...info };
}

const call = <T>(page: Page, method: 'warm' | 'run' | 'roundTrips', ...args: number[]) =>
  page.evaluate(
    ([name, rest]) => {
      const bench = (globalThis as unknown as { bench: Record<string, (...a: number[]) => Promise<unknown>> }).bench;
      return bench[name]!(...rest);
    },
    [method, args] as const,
  ) as Promise<T>;

interface Measured extends CaseInfo {
  /** ms per round */
  readonly times: number[];
  readonly rate: number;
}

interface LatencyRow extends LatencyInfo {
  readonly p50: number[];
  readonly p99: number[];
}

export const browser: Bench = {
  name: 'browser',
  title: 'In the browser: tiny tasks and round trips (headless Chromium, Web Workers)',
  ownReport: true,
  steps: (config) => config.repeats + 3,
  async run(config, progress) {
    const title = browser.title;
    if (!existsSync(chromiumPath)) {
      for (let i = 0; i < browser.steps(config); i++) progress.tick('skipped');
      return {
        name: 'browser',
        title,
        notes: [`Not run: no Chromium at ${chromiumPath} (apt-get install chromium).`],
        tables: [],
        targets: [],
      };
    }
    const { threads, repeats, quick } = config;
    const { origin, server } = await serve(await bundle());
    const chromium = await launchChromium();
    try {
      const pages = [];
      for (const group of groups) pages.push(await openPage(chromium.context, origin, group, threads, quick));
      progress.tick('pages open');
      const cases = pages.flatMap((page) => page.cases.map((info, index) => ({ info, page, index })));
      const timed = cases.map(({ info, page, index }) => ({
        label: info.label,
        once: () => call<number>(page.page, 'run', index),
        warm: () => call<void>(page.page, 'warm', index),
      }));
      const times = await interleave(timed, repeats, (round) =>
        progress.tick(round === 0 ? 'warm-up' : `round ${round}`),
      );
      const latency: LatencyRow[] = [];
      for (const page of pages) {
        for (const [index, info] of page.latency.entries()) {
          latency.push({
            ...info,
            ...(await call<{ p50: number[]; p99: number[] }>(page.page, 'roundTrips', index, repeats)),
          });
        }
      }
      progress.tick('round trips');
      for (const page of pages)
        if (page.errors.length > 0) throw new Error(`browser bench, page ${page.group}: ${page.errors.join('; ')}`);
      const measured = cases.map(({ info }, i) => ({
        ...info,
        times: times[i]!,
        rate: info.tasks / median(times[i]!),
      }));
      return report(measured, latency, {
        threads,
        repeats,
        userAgent: pages[0]!.userAgent,
        version: libraryVersions(),
      });
    } finally {
      await chromium.close();
      await new Promise((resolve) => server.close(resolve));
    }
  },
};

function libraryVersions(): string {
  const version = (name: string) =>
    (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  return ['workerpool', 'threads', 'comlink', 'rxjs', 'playwright-core']
    .map((name) => `${name} ${version(name)}`)
    .join(', ');
}

const families: Family[] = ['rxthreads pool.run', 'workerpool', 'threads.js Pool', 'comlink', 'raw loop'];

function report(
  rows: Measured[],
  latency: LatencyRow[],
  run: { threads: number; repeats: number; userAgent: string; version: string },
): Section {
  const { threads, repeats } = run;
  const find = (label: string) => rows.find((row) => row.label === label)!;
  const best = new Map(families.map((family) => [family, bestOf(rows, family)]));
  const rawBest = best.get('raw loop')!;
  const comlinkBest = best.get('comlink')!;
  const workerpoolBest = best.get('workerpool')!;
  const arrayLoop = bestPlainArrayLoop(rows);
  const line = (row: Measured, label = row.label) => throughputLine(row, label, [comlinkBest, workerpoolBest, rawBest]);
  const bestLabel = (row: Measured) => `${row.family}: best, ${row.config}`;
  const main: [Measured, string][] = [
    [find('main thread (sync loop)'), 'main thread (sync loop)'],
    [find('rxthreads offloadToThread (ordered)'), 'rxthreads offloadToThread (ordered)'],
    [find('rxthreads offloadToThread (unordered)'), 'rxthreads offloadToThread (unordered)'],
    ...families.map((family): [Measured, string] => [best.get(family)!, bestLabel(best.get(family)!)]),
  ];
  if (arrayLoop !== rawBest) main.push([arrayLoop, `raw loop: best with plain arrays, ${arrayLoop.config}`]);
  for (const row of rows)
    if (row.family === undefined && !main.some(([shown]) => shown === row)) main.push([row, row.label]);
  const head = [
    'case',
    'tasks',
    'median ms',
    'tasks/ms',
    'min–max tasks/ms',
    '× comlink (best)',
    '× workerpool (best)',
    '× raw loop (best)',
  ];
  const mainTable: Table = { head, rows: main.map(([row, label]) => line(row, label)) };
  const configTable = configurationsTable(rows, best);
  const { table: latencyTable } = roundTripTable(latency, 'round trip, one call at a time');
  const browserName = /(HeadlessChrome|Chrome)\/[\d.]+/.exec(run.userAgent)?.[0] ?? run.userAgent;
  return {
    name: 'browser',
    title: browser.title,
    notes: [
      `Tasks of \`x + 1\` (benchmarks/browser/work.ts) on ${threads} Web Workers per library, in ${browserName} (the Debian \`chromium\` package, headless, driven by playwright-core; ${run.version}). Each library runs in a page of its own, served cross-origin isolated (COOP and COEP headers) from loopback, with its pools open and idle but for the case being run; results are checked. Every case is warmed first (run until it has run for ${fmt(warmMs)} ms, at least once, at most 20 times); then every figure is the median of ${repeats} rounds, each of which runs every case in turn across the pages, so that a change in the machine's load falls on all of them alike. In a round a case runs untimed for ${fmt(settleMs)} ms (at least once) in its page, then once timed there (\`performance.now()\`). Ratios are between medians of this run; every timed round is in the run's JSON file.`,
      `Set-ups (benchmarks/README.md): rxthreads' browser build (dist/browser) with a module task loaded by URL; \`offloadToThread\` takes ${fmt(find('rxthreads offloadToThread (ordered)').tasks)} values from \`range\`, \`pool.run\` a promise per call. workerpool: \`workerpool.pool(url, { workerType: 'web' })\`, one \`exec\` per task. threads.js: \`Pool\` of \`spawn(new Worker(url))\`, one \`queue\` per task, with \`concurrency\` 1 (its default), 8 and 32. comlink: no pool of its own: ${threads} workers, each \`wrap\`ped, calls round-robin. Per-call libraries run at several limits in flight (a new call as each settles) and all at once; each library's best configuration in this run is its baseline (the second table lists every one tried). The raw loop is the plain program for this job: slices of 256 values round-robin to ${threads} workers, each adds 1 in place and posts the slice back, as plain arrays or Float64Arrays (copied, or moved both ways), all at once or a few per worker in flight.`,
      `The rows '(page not cross-origin isolated)' are rxthreads in a page without those headers: no SharedArrayBuffer, a job at a time per thread (docs/browser.md); they are not baselines.`,
      "Round trips: sequential calls (the next sent once the last is back), after as many for warm-up; µs per round trip, the median over the repeats of each repeat's median and p99. In an isolated page `performance.now()` is precise to about 5 µs, in another to 100 µs.",
    ],
    tables: [mainTable, configTable, latencyTable],
    targets: [],
    data: {
      userAgent: run.userAgent,
      versions: run.version,
      rounds: repeats,
      ...casesData(rows, best),
      latency: latency.map(({ label, calls, ours, p50, p99 }) => ({ label, calls, ours, p50Us: p50, p99Us: p99 })),
    },
  };
}
