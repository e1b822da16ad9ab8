// The browser tier: the operator contract and the pool's promises, in headless Chromium, through
// the package's `browser` export condition (dist/browser). Every case runs twice: in a page that
// is cross-origin isolated (COOP and COEP headers: SharedArrayBuffer, as on Node) and in one that
// is not (the fallback without shared memory, docs/browser.md). The cases are in page/cases.mjs.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { BrowserHarness, type BrowserPage, type Mode, requireChromium } from './harness';

type Described = { name: string; message: string; exitCode?: number; cause?: { name: string; message: string } };
type Outcome<T = unknown> = { values: T[]; complete?: true; error?: Described };
type Settled = { value?: unknown; error?: Described };
type Stats = { threads: number; completed: number; cancelled: number; failed: number; runTime: { count: number } };

const dist = join(__dirname, '..', '..', 'dist', 'browser');

describe('browser build', () => {
  it('has no node: import, in its modules nor in the worker scripts it carries', () => {
    const files = readdirSync(dist).filter((file) => file.endsWith('.mjs'));
    expect(files).to.include.members(['index.mjs', 'worker.mjs']);
    for (const file of files) {
      const text = readFileSync(join(dist, file), 'utf8');
      // The worker scripts are JSON strings in index.mjs: their quotes are escaped there. (Error
      // messages advise `ctx.import('node:zlib')`, for Node: that is no import of ours.)
      expect(text, file).not.to.match(/(\bfrom\s*|(?<![\w.])import\(\s*|(?<![\w.])require\(\s*)\\?["']node:/);
    }
  });

  it('differs from the Node build only where docs/browser.md says: two .browser.ts files, and lib/engine/local/browser/', () => {
    const lib = join(__dirname, '..', '..', 'lib');
    const siblings = (readdirSync(lib, { recursive: true }) as string[])
      .filter((path) => path.endsWith('.browser.ts'))
      .map((path) => path.split('\\').join('/'))
      .sort();
    expect(siblings).to.deep.equal(['engine/local/platform.browser.ts', 'task/module-file.browser.ts']);
  });

  it('is what the browser export condition names, before the module and default conditions', () => {
    const { exports } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    for (const [entry, file] of [
      ['.', 'index'],
      ['./worker', 'worker'],
    ]) {
      const conditions = Object.keys(exports[entry!]);
      expect(exports[entry!].browser).to.equal(`./dist/browser/${file}.mjs`);
      expect(conditions.indexOf('browser')).to.be.lessThan(conditions.indexOf('module'));
    }
  });
});

describe('in headless Chromium', function () {
  this.timeout(30_000);
  const harness = new BrowserHarness();

  before(async function () {
    requireChromium(this);
    this.timeout(60_000);
    await harness.start();
  });
  after(() => harness.close());

  for (const mode of ['isolated', 'plain'] as Mode[]) {
    const isolated = mode === 'isolated';
    describe(isolated ? 'a cross-origin isolated page' : 'a page that is not cross-origin isolated', () => {
      let page: BrowserPage;
      before(async () => {
        page = await harness.open(mode);
      });
      afterEach(() => {
        const errors = page.errors.splice(0);
        expect(errors, 'errors nobody caught in the page').to.deep.equal([]);
      });
      after(() => page?.close());

      it(isolated ? 'has SharedArrayBuffer' : 'has no SharedArrayBuffer', async () => {
        expect(await page.run('isolation')).to.deep.equal({
          crossOriginIsolated: isolated,
          sharedArrayBuffer: isolated ? 'function' : 'undefined',
        });
      });

      it('completes an empty source with no values', async () => {
        expect(await page.run('empty')).to.deep.equal({ values: [], complete: true });
      });

      it('maps one value with a module task loaded by URL in a module worker', async () => {
        expect(await page.run('one')).to.deep.equal({ values: [49], complete: true });
      });

      it('maps many values exactly once, in order or in completion order', async () => {
        const { ordered, unordered } = await page.run<{ ordered: Outcome; unordered: Outcome<number[]> }>('many');
        const expected = Array.from({ length: 300 }, (_, i) => 2 * (i + 1));
        expect(ordered).to.deep.equal({ values: expected, complete: true });
        expect(unordered).to.deep.equal({ values: [expected], complete: true });
      });

      it('runs at most `concurrency` tasks of a stream at once', async () => {
        expect(await page.run('concurrency')).to.deep.equal({ count: 12, most: 2 });
      });

      it('forwards a source error as itself', async () => {
        const { error, values } = await page.run<Outcome>('sourceError');
        expect(error).to.include({ name: 'Error', message: 'the source broke' });
        expect(values.length).to.be.at.most(2);
      });

      it('errors with TaskError carrying the original error when a task throws', async () => {
        const { error, values } = await page.run<Outcome>('throwingTask');
        expect(error).to.deep.include({
          name: 'TaskError',
          message: 'no 3',
          cause: { name: 'RangeError', message: 'no 3' },
        });
        expect(values).to.deep.equal(values.length === 0 ? [] : [1, 2].slice(0, values.length));
        const { error: fromModule } = await page.run<Settled>('moduleTaskThrows');
        expect(fromModule).to.include({ name: 'TaskError', message: 'from a module' });
      });

      it('never starts the values still queued after an early unsubscribe, and the pool goes on', async () => {
        const { result } = await page.run<{ result: { values: number[]; started: number; after: number } }>(
          'unsubscribe',
        );
        expect(result.values).to.deep.equal([0]);
        expect(result.started).to.be.within(1, 2);
        expect(result.after).to.equal(2);
      });

      it('take(n) emits n values (in completion order) and cancels the rest', async () => {
        const { result } = await page.run<{ result: { values: number[]; started: number; stats: Stats } }>('take');
        expect(result.values).to.have.length(3);
        // The three emitted, those running when take(3) ended (one per thread), and those that had
        // finished with them (their results in the same message): none of the other 990-odd.
        expect(result.started).to.be.within(3, 8);
        expect(result.stats.completed + result.stats.cancelled).to.equal(1000);
      });

      it('fires ctx.signal of a running task on cancel, and ctx.aborted reads true', async () => {
        const { result } = await page.run<{ result: { messages: unknown[]; after: number } }>('cancelRunning');
        expect(result.messages).to.deep.equal(['started', { aborted: true, reason: 'AbortError' }]);
        expect(result.after).to.equal(9);
      });

      if (isolated) {
        it('lets a synchronous loop see ctx.aborted without yielding (shared memory)', async () => {
          const { messages } = await page.run<{ messages: string[] }>('syncCancel');
          expect(messages).to.deep.equal(['started', 'saw aborted']);
        });
      } else {
        it('ends a synchronous loop that cannot see ctx.aborted after cancelGraceMs, and replaces its thread', async () => {
          const { messages, result } = await page.run<{
            messages: string[];
            result: { after: number; afterMs: number };
          }>('syncCancel');
          expect(messages).to.deep.equal(['started']);
          expect(result.after).to.equal(2);
          expect(result.afterMs).to.be.at.least(250);
        });
      }

      it('terminates and replaces a thread whose task ignores its cancel for cancelGraceMs', async () => {
        const { first, after, stats } = await page.run<{ first: Settled; after: number; stats: Stats }>('graceReplace');
        expect(first.error).to.include({ name: 'AbortError' });
        expect(after).to.equal(42);
        expect(stats.threads).to.equal(1);
      });

      it('fails only the task whose thread died of an uncaught error, with WorkerCrashedError', async () => {
        const { results, after } = await page.run<{ results: unknown[]; after: number }>('crash');
        expect(results).to.deep.equal([
          0,
          1,
          {
            input: 2,
            error: {
              name: 'WorkerCrashedError',
              message: 'The thread running this task died: thrown in a timer',
              exitCode: 1,
              isError: true,
              cause: { name: 'Error', message: 'thrown in a timer' },
            },
          },
          3,
          4,
          5,
        ]);
        expect(after).to.equal(2);
      });

      it('moves an ArrayBuffer, an ImageBitmap and an OffscreenCanvas to the thread, and results back', async () => {
        expect(await page.run('transfer')).to.deep.equal({
          sentLength: 0,
          back: [10, 20, 30, 40],
          bitmapSent: 0,
          size: [3, 2],
          drawn: [5, 4],
        });
      });

      it('with settle, emits one entry per input and goes on past a failure', async () => {
        const { values, complete } = await page.run<Outcome<{ status: string; input: number }>>('settle');
        expect(complete).to.equal(true);
        expect(values.map((entry) => [entry.status, entry.input])).to.deep.equal([
          ['fulfilled', 1],
          ['rejected', 2],
          ['fulfilled', 3],
          ['rejected', 4],
        ]);
      });

      it('fails a task that runs past its timeout with TimeoutError, and only that one', async () => {
        const { values, complete } = await page.run<Outcome>('timeout');
        expect(complete).to.equal(true);
        expect(values[0]).to.equal(10);
        expect(values[1]).to.include({ name: 'TimeoutError' });
        expect(values[2]).to.equal(20);
      });

      it('errors with AbortError (cause: the reason) when its signal aborts', async () => {
        const { some, error } = await page.run<{ some: boolean; error: Described }>('signal');
        expect(some).to.equal(true);
        expect(error).to.deep.include({ name: 'AbortError', cause: { name: 'Error', message: 'enough' } });
      });

      it('streams what a generator task yields, in input order; run() refuses it', async () => {
        const { ordered, run } = await page.run<{ ordered: Outcome; run: Settled }>('streaming');
        expect(ordered).to.deep.equal({ values: [10, 11, 12, 20, 21, 22, 30, 31, 32], complete: true });
        expect(run.error).to.include({ name: 'TypeError' });
      });

      it("runs a streaming task's finally in its thread when the stream is cancelled", async () => {
        const { result, messages } = await page.run<{ result: number[]; messages: unknown[] }>('streamingCancel');
        expect(result).to.deep.equal([0, 1, 2]);
        expect(messages).to.deep.equal([{ finally: true, aborted: true }]);
      });

      it('resolves done and calls onDone once closed; stats() counts the tasks', async () => {
        const { stats, called, late, closed, after } = await page.run<{
          stats: Stats;
          called: number;
          late: number;
          closed: Settled;
          after: number;
        }>('doneAndStats');
        expect(stats).to.include({ threads: 2, completed: 50, failed: 0, cancelled: 0 });
        expect(stats.runTime.count).to.equal(50);
        expect([called, late, after]).to.deep.equal([1, 1, 0]);
        expect(closed.error).to.include({ name: 'ClosedError' });
      });

      it('runs tasks interleaved on an EventLoopThread (runOnLoop, submit)', async () => {
        expect(await page.run('loop')).to.deep.equal({
          interleaved: [10, 30, 60],
          submitted: 42,
          threads: 1,
          completed: 4,
        });
      });

      it('abandons a cancelled loop task that never settles after cancelGraceMs; the loop goes on', async () => {
        const { first, after } = await page.run<{ first: Settled; after: number }>('loopCancel');
        expect(first.error).to.include({ name: 'AbortError' });
        expect(after).to.equal(2);
      });

      it('maps an async iterable with offloadFrom', async () => {
        expect(await page.run('offloadFrom')).to.deep.equal({ values: [0, 1, 4, 9, 16], complete: true });
      });

      it('runs an inThread stage from a module URL, and ends it on unsubscribe', async () => {
        expect(await page.run('inThread')).to.deep.equal({ values: [[2, 4, 6, 8, 10]], complete: true });
        expect(await page.run('inThreadUnsubscribe')).to.deep.equal([0, 2, 4]);
      });

      it('fails an inline task that reads an outer variable, naming it, as on Node', async () => {
        const { error } = await page.run<Settled>('notSelfContained');
        expect(error?.name).to.equal('TaskError');
        expect(error?.message).to.match(/Inline task reads `outer`.*self-contained/);
      });

      it('loads a module by URL in an inline task with ctx.import', async () => {
        expect(await page.run('ctxImport')).to.equal(81);
      });

      it('fails a module task whose URL is not there with TaskError naming it', async () => {
        const { error } = await page.run<Settled>('missingModule');
        expect(error?.name).to.equal('TaskError');
        expect(error?.message).to.include(`/${mode}/tasks/missing.js`);
      });

      it("refuses a relative module path and Node's worker options with a TypeError naming them", async () => {
        const attempts = await page.run<Record<string, Described | 'made'>>('badPaths');
        expect(attempts.rootPath).to.equal('made');
        expect(attempts.relative).to.include({ name: 'TypeError' });
        expect((attempts.relative as Described).message).to.include('`modulePath`');
        expect((attempts.nodeOption as Described).message).to.include('`execArgv`');
        expect((attempts.resourceLimits as Described).message).to.include('`resourceLimits`');
      });

      it('sizes a pool at hardwareConcurrency - 1 threads, at least one', async () => {
        const { size, hardwareConcurrency } = await page.run<{ size: number; hardwareConcurrency: number }>(
          'defaultSize',
        );
        expect(size).to.equal(Math.max(1, hardwareConcurrency - 1));
      });

      it('runs 5,000 tiny tasks in order', async () => {
        const { count, inOrder, ms } = await page.run<{ count: number; inOrder: boolean; ms: number }>('tinyTasks');
        expect([count, inOrder]).to.deep.equal([5000, true]);
        console.log(`      (5,000 tiny tasks on 2 threads: ${ms} ms)`);
      });
    });
  }
});
