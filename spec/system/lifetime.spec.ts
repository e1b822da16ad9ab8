import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { ThreadPool } from 'rxthreads';
import { fixture } from '../helpers';

const root = resolve(__dirname, '..', '..');

/** Runs a CommonJS script in a fresh Node process from the package root; resolves with its output. */
function runScript(
  source: string,
  flags: string[] = [],
  cwd = root,
): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = execFile(process.execPath, [...flags, '-e', source], { cwd, timeout: 15_000 }, (error, stdout) => {
      if (error?.killed) fail(new Error(`the script did not exit by itself: ${stdout}`));
      else done({ code: child.exitCode, stdout, ms: Date.now() - started });
    });
  });
}

describe('process lifetime', () => {
  it('lets a script that forgets close() exit once its pool is idle', async () => {
    const { code, stdout } = await runScript(`
      const { ThreadPool } = require('rxthreads');
      const pool = new ThreadPool({ size: 2 });
      pool.run((x) => x + 1, 1).then((v) => console.log('result', v));
    `);
    expect(code).to.equal(0);
    expect(stdout).to.include('result 2');
  });

  it('keeps the process alive while a task runs, even with nothing else to do', async () => {
    const { code, stdout, ms } = await runScript(`
      const { ThreadPool } = require('rxthreads');
      new ThreadPool({ size: 1 })
        .run((ms) => { const end = Date.now() + ms; while (Date.now() < end); return 'ran ' + ms; }, 300)
        .then((v) => console.log(v));
    `);
    expect(code).to.equal(0);
    expect(stdout).to.include('ran 300');
    expect(ms).to.be.greaterThan(300);
  });

  it('lets a script exit with an idle event-loop thread, and keeps it alive for a pending submission', async () => {
    const idle = await runScript(`
      const { EventLoopThread } = require('rxthreads');
      const loop = new EventLoopThread();
      loop.submit(() => 'served', null).then(console.log);
    `);
    expect(idle.code).to.equal(0);
    expect(idle.stdout).to.include('served');
    const starting = await runScript(`
      const { EventLoopThread } = require('rxthreads');
      (async () => { const loop = new EventLoopThread(); await loop.ready; console.log('ready'); })();
    `);
    expect(starting.code).to.equal(0);
    expect(starting.stdout).to.include('ready'); // a starting loop thread holds the process until it runs
    const pending = await runScript(`
      const { EventLoopThread } = require('rxthreads');
      new EventLoopThread().submit((ms) => new Promise((r) => setTimeout(r, ms, 'waited')), 300).then(console.log);
    `);
    expect(pending.stdout).to.include('waited');
  });

  it('keeps the process alive until close() resolves, for a loop thread closed before it was ready', async () => {
    const { code, stdout } = await runScript(`
      const { EventLoopThread } = require('rxthreads');
      (async () => {
        const loop = new EventLoopThread();
        loop.ready.catch(() => {});
        await loop.close();
        console.log('closed');
        await loop.done;
        console.log('done');
      })();
    `);
    expect(code).to.equal(0);
    expect(stdout).to.include('closed');
    expect(stdout).to.include('done');
  });

  it('lets a script that pipes through the default pool exit when the stream completes', async () => {
    const { code, stdout } = await runScript(`
      const { range } = require('rxjs');
      const { toArray } = require('rxjs/operators');
      const { offloadToThread } = require('rxthreads');
      range(0, 5).pipe(offloadToThread((x) => x * x), toArray()).subscribe((v) => console.log(JSON.stringify(v)));
    `);
    expect(code).to.equal(0);
    expect(stdout).to.include('[0,1,4,9,16]');
  });

  it('starts threads without ts-node when the caller was started with -r ts-node/register, and with V8 flags', async () => {
    const { code, stdout } = await runScript(
      `
      const { ThreadPool } = require('rxthreads');
      const pool = new ThreadPool({ size: 1 });
      pool.run(() => process.execArgv.join(' '), null).then((flags) => console.log('thread flags:', flags));
    `,
      ['-r', 'ts-node/register', '--expose-gc'],
    );
    expect(code).to.equal(0);
    expect(stdout).to.match(/thread flags:/);
    expect(stdout).to.not.include('ts-node');
  });

  it('installs no signal handlers: SIGINT stays the application’s own', async () => {
    const before = ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s));
    const pool = new ThreadPool({ size: 1 });
    await pool.run((x: number) => x, 1);
    expect(['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s))).to.deep.equal(before);
    await pool.close();
  });
});

describe("threads where the package's thread scripts are not there (an app bundled into one file)", function () {
  this.timeout(30_000);

  /** The package as a bundle may leave it: everything but the thread scripts, in a new app. */
  function appWithout(scriptsTooWithin: boolean): string {
    const app = mkdtempSync(join(tmpdir(), 'rxthreads-no-entry-'));
    const installed = join(app, 'node_modules', 'rxthreads');
    cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true });
    cpSync(join(root, 'package.json'), join(installed, 'package.json'));
    rmSync(join(installed, 'dist', 'lib', 'thread', 'entry.js'));
    rmSync(join(installed, 'dist', 'lib', 'thread', 'stage-entry.js'));
    if (scriptsTooWithin) {
      // A copy of rxthreads that was never built: no copy of the scripts in its code either.
      writeFileSync(join(installed, 'dist', 'lib', 'engine', 'local', 'scripts.js'), 'exports.embeddedScripts = {};\n');
    }
    symlinkSync(join(root, 'node_modules', 'rxjs'), join(app, 'node_modules', 'rxjs'), 'dir');
    return app;
  }

  const program = `
    const { ThreadPool, offloadToThread, inThread, inlineTask } = require('rxthreads');
    const { of, map } = require('rxjs');
    const pool = new ThreadPool({ size: 1 });
    of(1, 2).pipe(offloadToThread((x) => x + 1, { pool })).subscribe({
      next: (v) => console.log('next', v),
      error: (e) => console.log('stream', e.name, e.message),
    });
    pool.run((x) => x, 1).then((v) => console.log('run', v), (e) => console.log('run', e.name, e.cause && e.cause.message));
    of(3).pipe(inThread(inlineTask(async (input$) => input$))).subscribe({
      next: (v) => console.log('stage', v),
      error: (e) => console.log('stage', e.name, e.message),
    });
  `;

  it('start from the copy of the scripts that the package carries in its code: pipelines, run() and stages work', async () => {
    const app = appWithout(false);
    try {
      const { code, stdout } = await runScript(program, [], app);
      expect(code).to.equal(0);
      expect(stdout.split('\n').sort().join('\n')).to.equal(['', 'next 2', 'next 3', 'run 1', 'stage 3'].join('\n'));
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('fail the work with WorkerCrashedError saying so, never an uncaught exception, when the package carries no copy either', async () => {
    const app = appWithout(true);
    try {
      const { code, stdout } = await runScript(program, [], app);
      expect(code).to.equal(0);
      expect(stdout).to.match(/^stream WorkerCrashedError .*thread script .*entry\.js.*not built/m);
      expect(stdout).to.match(/^run WorkerCrashedError .*entry\.js/m);
      expect(stdout).to.not.include('next');
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});

describe('an inThread stage that leaves a timer running in its thread', function () {
  this.timeout(30_000);
  for (const [how, source] of [
    ['completes', 'of(1, 2)'],
    ['errors', "concat(of(1), throwError(() => new Error('source failed')))"],
    ['is unsubscribed', 'interval(5)'],
  ] as const) {
    it(`${how}, has its thread ended within the stage's close grace, and lets the process exit by itself`, async () => {
      const { code, stdout, ms } = await runScript(`
        const { inThread, moduleTask } = require('rxthreads');
        const { of, concat, throwError, interval, take } = require('rxjs');
        const stage = inThread(moduleTask(${JSON.stringify(fixture('stage-ops.cjs'))}, 'leavesTimer'), { closeGraceMs: 300 });
        ${source}.pipe(stage, take(2)).subscribe({
          next: (v) => console.log('next', v),
          error: (e) => console.log('error', e.message),
          complete: () => console.log('complete'),
        });
      `);
      expect(code).to.equal(0);
      expect(stdout).to.match(/next \d\n(complete|error source failed)\n$/);
      expect(ms).to.be.lessThan(2_500);
    });
  }
});
