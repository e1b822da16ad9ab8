// Packs rxthreads as npm would publish it, installs the tarball into a new project, and uses it
// there from CommonJS, from an ES module, and from TypeScript (type-checked with tsc).

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');
const versionOf = (name: string): string =>
  JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version;

const task = `module.exports = function square(x) { return x * x; };\n`;

const cjs = `const { ThreadPool, moduleTask, offloadToThread, TaskError } = require('rxthreads');
const { AbortError } = require('rxthreads/worker');
const { lastValueFrom, range, toArray } = require('rxjs');
(async () => {
  const pool = new ThreadPool({ size: 1 });
  const nine = await pool.run(moduleTask(require.resolve('./task.cjs')), 3);
  const squares = await lastValueFrom(range(1, 3).pipe(offloadToThread((x) => x * x, { pool }), toArray()));
  const error = await pool.run(() => { throw new RangeError('no'); }, 0).catch((e) => e instanceof TaskError && e.cause.name);
  await pool.close();
  console.log(JSON.stringify({ nine, squares, error, abort: new AbortError().name }));
})();
`;

const esm = `import { EventLoopThread, ThreadPool, moduleTask, runOnLoop } from 'rxthreads';
import { AbortError } from 'rxthreads/worker';
import { lastValueFrom, of, toArray } from 'rxjs';
const pool = new ThreadPool({ size: 1 });
const nine = await pool.run(moduleTask(new URL('./task.cjs', import.meta.url)), 3);
await pool.close();
const loop = new EventLoopThread();
const doubled = await lastValueFrom(of(1, 2).pipe(runOnLoop(loop, async (x) => x * 2), toArray()));
await loop.close();
console.log(JSON.stringify({ nine, doubled, abort: new AbortError().name }));
`;

const typed = `import { lastValueFrom, range, toArray } from 'rxjs';
import { moduleTask, offloadToThread, type Task, TaskError, ThreadPool } from 'rxthreads';
import type { TaskContext } from 'rxthreads/worker';

// A task module written in TypeScript would look like this.
export function square(x: number, ctx: TaskContext): number {
  ctx.throwIfAborted();
  return x * x;
}

const squareTask: Task<number, number> = moduleTask<number, number>(new URL('./task.cjs', import.meta.url));
await using pool = new ThreadPool({ size: 1, cancelGraceMs: 50 });
const n: number = await pool.run(squareTask, 3);
// @ts-expect-error the task takes a number
await pool.run(squareTask, 'three');
const squares: number[] = await lastValueFrom(range(1, 3).pipe(offloadToThread((x: number) => x * x), toArray()));
const stats: { busy: number } = pool.stats();
const isTaskError = (e: unknown): boolean => e instanceof TaskError && e.cause.message.length > 0;
console.log(n, squares, stats, isTaskError);
`;

const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023', 'ESNext.Disposable'],
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: ['node'],
    strict: true,
    noEmit: true,
  },
  files: ['consumer.mts'],
};

describe('packaging', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    expect(existsSync(join(repo, 'dist', 'index.js')), 'dist/ is built (npm run build)').to.equal(true);
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-docs-pack-'));
    // --ignore-scripts: pack dist as built, rather than rebuild it under specs that are using it.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: repo,
    });
    const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    const files = packed.files.map((file) => file.path);
    expect(files).to.include.members(['package.json', 'dist/index.js', 'dist/worker.d.ts', 'dist/lib/thread/entry.js']);
    expect(
      files.filter((path) => !path.startsWith('dist/') && path !== 'package.json' && !/^(README|LICENSE)/i.test(path)),
    ).to.deep.equal([]);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    writeFileSync(join(dir, 'task.cjs'), task);
    writeFileSync(join(dir, 'consumer.cjs'), cjs);
    writeFileSync(join(dir, 'consumer.mjs'), esm);
    writeFileSync(join(dir, 'consumer.mts'), typed);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        join(dir, packed.filename),
        `rxjs@${versionOf('rxjs')}`,
        `@types/node@${versionOf('@types/node')}`,
      ],
      { cwd: dir },
    );
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('works from CommonJS: require, a module task, an operator, errors, rxthreads/worker', async () => {
    const { stdout } = await run(process.execPath, ['consumer.cjs'], { cwd: dir });
    expect(JSON.parse(stdout)).to.deep.equal({ nine: 9, squares: [1, 4, 9], error: 'RangeError', abort: 'AbortError' });
  });

  it('works from an ES module with named imports', async () => {
    const { stdout } = await run(process.execPath, ['consumer.mjs'], { cwd: dir });
    expect(JSON.parse(stdout)).to.deep.equal({ nine: 9, doubled: [2, 4], abort: 'AbortError' });
  });

  it('installs without install scripts and has what the npm page shows', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', 'rxthreads', 'package.json'), 'utf8'));
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
      expect(manifest.scripts ?? {}, script).not.to.have.property(script);
    }
    expect(manifest.repository.url).to.match(/^git\+https:\/\//);
    expect(manifest.homepage).to.match(/^https:\/\//);
    expect(manifest.bugs.url).to.match(/^https:\/\//);
    expect(manifest.keywords).to.include.members(['rxjs', 'worker_threads']);
    // The npm page renders the README on its own: every link and image must be absolute.
    const readme = readFileSync(join(dir, 'node_modules', 'rxthreads', 'README.md'), 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((link) => link[1]!);
    expect(targets.length).to.be.greaterThan(3);
    expect(targets.filter((target) => !/^(https:\/\/|#)/.test(target))).to.deep.equal([]);
    expect(readme).to.include('npm install rxthreads rxjs');
  });

  it('type-checks a TypeScript consumer with tsc --noEmit', async () => {
    const tsc = join(repo, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', 'tsconfig.json'], { cwd: dir }).catch((error: { stdout: string }) => error);
    expect(result.stdout).to.equal('');
  });
});
