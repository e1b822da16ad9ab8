import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { inlineTask, moduleTask, TaskError, ThreadPool } from 'rxthreads';
import { fixture } from '../helpers';

describe('tasks', () => {
  let pool: ThreadPool;
  beforeEach(() => {
    pool = new ThreadPool({ size: 1 });
  });
  afterEach(() => pool.terminate());

  it('runs a plain function as an inline task', async () => {
    expect(await pool.run((x: number) => x + 1, 41)).to.equal(42);
  });

  it('runs a function exported by a CommonJS module (default and named)', async () => {
    expect(await pool.run(moduleTask<number, number>(fixture('math.cjs')), 21)).to.equal(42);
    const count = moduleTask<null, number>(fixture('math.cjs'), 'count');
    expect(await pool.run(count, null)).to.equal(1);
    expect(await pool.run(count, null)).to.equal(2); // the module stays loaded in the thread
  });

  it('runs an ES module given as a file: URL, after its top-level await', async () => {
    const task = moduleTask<number, number>(pathToFileURL(fixture('esm.mjs')));
    expect(await pool.run(task, 1)).to.equal(101);
  });

  it('runs a TypeScript module when the caller runs under ts-node', async () => {
    const task = moduleTask<{ x: number; y: number }, number>(fixture('typed.ts'), 'norm');
    expect(await pool.run(task, { x: 3, y: 4 })).to.equal(5);
  });

  it('rejects a relative module path at creation with a TypeError that echoes it', () => {
    expect(() => moduleTask('./fixtures/math.cjs')).to.throw(TypeError, /`modulePath`.*\.\/fixtures\/math\.cjs/);
  });

  it('fails with TaskError for a missing module, a missing export, a non-function export and a throwing module', async () => {
    const cases: [ReturnType<typeof moduleTask>, RegExp][] = [
      [moduleTask('/nonexistent/module.js'), /Cannot find module/],
      [moduleTask(fixture('math.cjs'), 'nope'), /no export `nope`/],
      [moduleTask(fixture('math.cjs'), 'notAFunction'), /not a function/],
      [moduleTask(fixture('throws-at-load.cjs')), /fails while loading/],
    ];
    for (const [task, message] of cases) {
      const error = await pool.run(task, 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TaskError);
      expect((error as Error).message).to.match(message);
    }
    expect(await pool.run((x: number) => x, 7)).to.equal(7); // the thread survived all of it
  });

  it('names the outer variable an inline task reads and says tasks must be self-contained', async () => {
    const outer = 5;
    const error = await pool.run((x: number) => x + outer, 1).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskError);
    expect((error as Error).message)
      .to.include('`outer`')
      .and.include('self-contained');
  });

  it('accepts methods written in shorthand and async functions', async () => {
    const holder = {
      triple(x: number) {
        return x * 3;
      },
    };
    expect(await pool.run(holder.triple, 2)).to.equal(6);
    expect(await pool.run(async (x: number) => x - 1, 2)).to.equal(1);
  });

  it('refuses native and bound functions at creation', () => {
    expect(() => inlineTask(Math.max as never)).to.throw(TypeError, /native or bound/);
    expect(() => inlineTask(((x: number) => x).bind(null))).to.throw(TypeError, /native or bound/);
  });
});
