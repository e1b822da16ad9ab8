import { execFile } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { lastValueFrom, of } from 'rxjs';
import { EventLoopThread, moduleTask, offloadToThread, runOnLoop, ThreadPool } from 'rxthreads';
import { fixture } from '../helpers';

const hooks = fixture('close-hooks.cjs');
const root = resolve(__dirname, '..', '..');
const task = <I, O = string>(name: string) => moduleTask<I, O>(hooks, name);

function runScript(source: string, timeout = 15_000): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = execFile(process.execPath, ['-e', source], { cwd: root, timeout }, (error, stdout) => {
      if (error?.killed) fail(new Error(`the script did not exit by itself: ${stdout}`));
      else done({ code: child.exitCode, stdout, ms: Date.now() - started });
    });
  });
}

describe('shutdown: threads end cleanly on close()', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-close-'));
  });
  afterEach(() => {
    delete process.env.RXTHREADS_CLOSE_FILE;
    rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of ['ThreadPool', 'EventLoopThread'] as const) {
    const make = (options: { closeGraceMs?: number } = {}) =>
      kind === 'ThreadPool' ? new ThreadPool({ size: 1, ...options }) : new EventLoopThread(options);
    const run = <I, O>(owner: ThreadPool | EventLoopThread, name: string, input: I): Promise<O> =>
      owner instanceof ThreadPool ? owner.run(task<I, O>(name), input) : owner.submit(task<I, O>(name), input);

    it(`${kind}: runs onThreadClose callbacks, last registered first, each awaited, before done`, async () => {
      const path = join(dir, 'log');
      process.env.RXTHREADS_CLOSE_FILE = path;
      const owner = make();
      await run(owner, 'register', { path, label: 'first' });
      await run(owner, 'register', { path, label: 'second' });
      await owner.close();
      expect(readFileSync(path, 'utf8')).to.equal('second;first;module;');
    });

    it(`${kind}: lets an unawaited 1 MiB write stream reach the disk before close() resolves`, async () => {
      const path = join(dir, 'big');
      const owner = make();
      await run(owner, 'writeUnawaited', { path, bytes: 1024 * 1024 });
      await owner.close();
      expect(statSync(path).size).to.equal(1024 * 1024);
    });

    it(`${kind}: fires process.on('exit') in the thread`, async () => {
      const path = join(dir, 'exit');
      const owner = make();
      await run(owner, 'onExit', path);
      await owner.close();
      expect(readFileSync(path, 'utf8')).to.equal('exit');
    });

    it(`${kind}: cuts a hanging callback at closeGraceMs and terminates the thread`, async () => {
      const owner = make({ closeGraceMs: 200 });
      await run(owner, 'hang', null);
      const started = Date.now();
      await owner.close();
      expect(Date.now() - started).to.be.within(150, 5_000);
    });

    it(`${kind}: terminate() during a close cuts a callback that is still running, at once`, async () => {
      const owner = make(); // closeGraceMs: 5000
      await run(owner, 'hang', null);
      const closed = owner.close();
      await new Promise((done) => setTimeout(done, 50)); // the thread is in its callback now
      const started = Date.now();
      await owner.terminate();
      await closed;
      expect(Date.now() - started).to.be.lessThan(1_000);
    });

    it(`${kind}: terminate() runs no callback`, async () => {
      const path = join(dir, 'log');
      const owner = make();
      await run(owner, 'register', { path, label: 'never' });
      await owner.terminate();
      await new Promise((done) => setTimeout(done, 100));
      expect(existsSync(path)).to.equal(false);
    });
  }

  it('closes a private pool of a stream gracefully when the stream completes', async () => {
    const path = join(dir, 'log');
    const out = await lastValueFrom(
      of({ path, label: 'private' }).pipe(
        offloadToThread(task<{ path: string; label: string }>('register'), { threads: 1 }),
      ),
    );
    expect(out).to.equal('private');
    // Completion is emitted only after the stream's own threads have exited: their callbacks ran.
    expect(readFileSync(path, 'utf8')).to.equal('private;');
  });

  it('keeps the process alive until a closing thread has run its callbacks, without an awaited close()', async () => {
    const path = join(dir, 'log');
    const { code } = await runScript(`
      const { ThreadPool, moduleTask } = require('rxthreads');
      const pool = new ThreadPool({ size: 1 });
      pool.run(moduleTask(${JSON.stringify(hooks)}, 'register'), { path: ${JSON.stringify(path)}, label: 'late' })
        .then(() => { pool.close(); });
    `);
    expect(code).to.equal(0);
    expect(readFileSync(path, 'utf8')).to.equal('late;');
  });
});

describe('EventLoopThread: cancelled tasks that never settle', () => {
  it('lets the process exit after the only task, which ignores its signal, is unsubscribed', async () => {
    const { code, stdout } = await runScript(`
      const { EventLoopThread, runOnLoop, moduleTask } = require('rxthreads');
      const { of } = require('rxjs');
      const loop = new EventLoopThread();
      const sub = of(1).pipe(runOnLoop(loop, moduleTask(${JSON.stringify(hooks)}, 'ignoreCancel'))).subscribe();
      setTimeout(() => { sub.unsubscribe(); console.log('unsubscribed'); }, 100);
    `);
    expect(stdout).to.include('unsubscribed');
    expect(code).to.equal(0);
  });

  it('lets close() resolve once a cancelled never-settling task is abandoned', async () => {
    const loop = new EventLoopThread({ cancelGraceMs: 50 });
    await loop.ready;
    const sub = of(1)
      .pipe(runOnLoop(loop, task('ignoreCancel')))
      .subscribe();
    await new Promise((done) => setTimeout(done, 50));
    sub.unsubscribe();
    const closed = await Promise.race([
      loop.close().then(() => 'closed'),
      new Promise((done) => setTimeout(done, 5_000, 'pending')),
    ]);
    expect(closed).to.equal('closed');
  });

  it('serves a new submission after 20,000 cancelled tasks that never settle', async function () {
    this.timeout(60_000);
    const loop = new EventLoopThread({ cancelGraceMs: 20 });
    try {
      const controller = new AbortController();
      setMaxListeners(30_000, controller.signal);
      const cancelled = Array.from({ length: 20_000 }, () =>
        loop.submit(task('ignoreCancel'), null, { signal: controller.signal }).catch((e: Error) => e.name),
      );
      await new Promise((done) => setTimeout(done, 50));
      controller.abort();
      expect(new Set(await Promise.all(cancelled))).to.deep.equal(new Set(['AbortError']));
      const served = await Promise.race([
        loop.submit((x: number) => x + 1, 41),
        new Promise((done) => setTimeout(done, 20_000, 'pending').unref()),
      ]);
      expect(served).to.equal(42);
    } finally {
      await loop.terminate();
    }
  });
});
