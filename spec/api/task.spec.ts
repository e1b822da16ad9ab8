import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { lastValueFrom, of } from 'rxjs';
import { inlineTask, moduleTask, offloadToThread, type TaskContext, TaskError, ThreadPool } from 'rxthreads';
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
    // Written here: a file that does not parse would fail the lint.
    const syntaxError = join(mkdtempSync(join(tmpdir(), 'rxthreads-task-')), 'syntax-error.cjs');
    writeFileSync(syntaxError, 'module.exports = function (x) { return x +; };\n');
    const cases: [ReturnType<typeof moduleTask>, RegExp][] = [
      [
        moduleTask('/nonexistent/module.js'),
        /^Task module file not found: \/nonexistent\/module\.js \(moduleTask called at .*task\.spec\.ts:\d+/,
      ],
      [moduleTask(fixture('math.cjs'), 'nope'), /no export `nope`/],
      [moduleTask(fixture('math.cjs'), 'notAFunction'), /not a function/],
      [moduleTask(fixture('throws-at-load.cjs')), /fails while loading/],
      [moduleTask(syntaxError), /^Could not load the task module .*syntax-error\.cjs: Unexpected token/],
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

describe('module task names', () => {
  let pool: ThreadPool;
  beforeEach(() => {
    pool = new ThreadPool({ size: 1 });
  });
  afterEach(() => pool.terminate());

  it('maps a missing x.js to x.ts under a TypeScript runtime, and a missing x.ts to the compiled x.js', async () => {
    const dir = fixture('ts-names/compiled.js').replace(/compiled\.js$/, '');
    expect(await pool.run(moduleTask<number, string>(`${dir}source.js`), 1)).to.equal('source 1');
    expect(await pool.run(moduleTask<number, string>(`${dir}compiled.ts`), 2)).to.equal('compiled 2');
    expect(await pool.run(moduleTask<number, number>(`${dir}esm-source.mjs`), 2)).to.equal(3);
  });

  it('fails a .ts module with top-level await in a CommonJS package with an error naming the file and the fix', async () => {
    const path = fixture('ts-names/top-level-await.ts');
    const error = await pool.run(moduleTask<number, number>(path), 1).catch((e: TaskError) => e);
    if (typeof error === 'number') expect.fail('expected a rejection');
    expect(error).to.be.instanceOf(TaskError);
    expect(error.message).to.include(`Could not load the task module ${path}`);
    expect(error.message).to.match(/name the file \.mts, or set "type": "module"/);
  });

  it('rejects relative paths, relative file: URLs and other URL schemes, naming the option and the value', () => {
    expect(() => moduleTask('./x.js')).to.throw(
      TypeError,
      /`modulePath`.*`\.\/x\.js`.*require\.resolve.*import\.meta\.resolve/,
    );
    expect(() => moduleTask('file:./x.cjs')).to.throw(TypeError, /`modulePath`.*`file:\.\/x\.cjs`.*must be absolute/);
    expect(() => moduleTask('http://example.com/x.js')).to.throw(
      TypeError,
      /`modulePath`.*`http:\/\/example\.com\/x\.js`/,
    );
    expect(() => moduleTask(new URL('https://example.com/x.js'))).to.throw(TypeError, /`modulePath`.*https:/);
  });

  it('lists the exports that exist when the named one is missing', async () => {
    const error = await pool
      .run(moduleTask<number, number>(fixture('math.cjs'), 'dubble'), 1)
      .catch((e: TaskError) => e);
    if (typeof error === 'number') expect.fail('expected a rejection');
    expect(error).to.be.instanceOf(TaskError);
    expect(error.message).to.match(/no export `dubble`; its exports are .*`count`/);
  });
});

// What tsx (esbuild keepNames), tsc down-levelling and `module: commonjs` put into a function.
declare const __name: <T>(fn: T, name: string) => T;
declare const __awaiter: (self: unknown, args: unknown, P: unknown, body: () => Generator) => Promise<number>;
declare const __importStar: (module: unknown) => {
  createHash(kind: string): { update(s: string): { digest(e: string): string } };
};
declare const cov_2cx3oynfd8: () => { s: number[] };

describe('inline tasks rewritten by tools', () => {
  let pool: ThreadPool;
  beforeEach(() => {
    pool = new ThreadPool({ size: 1 });
  });
  afterEach(() => pool.terminate());

  it("runs with esbuild's __name and tslib's __awaiter and __importStar, and require of a module", async () => {
    const named = (x: number) => {
      const inc = __name((y: number) => y + 1, 'inc');
      return inc(x);
    };
    expect(await pool.run(named, 1)).to.equal(2);
    const downlevelled = (x: number) =>
      __awaiter(undefined, undefined, undefined, function* () {
        return ((yield Promise.resolve(x)) as number) * 2;
      });
    expect(await pool.run(downlevelled, 2)).to.equal(4);
    const imported = (text: string) =>
      Promise.resolve()
        .then(() => __importStar(require('node:crypto')))
        .then((crypto) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 8));
    expect(await pool.run(imported, 'a')).to.equal('ca978112');
  });

  it('loads modules through ctx.import, which no tool rewrites', async () => {
    const gzipped = async (text: string, ctx: TaskContext) => {
      const { gzipSync, gunzipSync } = await ctx.import<typeof import('node:zlib')>('node:zlib');
      return gunzipSync(gzipSync(text)).toString();
    };
    expect(await pool.run(gzipped, 'round trip')).to.equal('round trip');
  });

  for (const [helper, tool, body] of [
    [
      '_interopRequireWildcard',
      /babel \(as babel-jest runs it\)/,
      "return Promise.resolve().then(() => _interopRequireWildcard(require('node:zlib')))",
    ],
    [
      '__vite_ssr_dynamic_import__',
      /Vite \(as vitest and Vite SSR run it\)/,
      "return __vite_ssr_dynamic_import__('node:zlib')",
    ],
    ['__webpack_require__', /webpack/, "return __webpack_require__.t('node:zlib')"],
  ] as const) {
    it(`names ${helper}, the tool that put it there and ctx.import as the fix`, async () => {
      // What the tool makes of `async (x) => await import('node:zlib')`, as source text.
      const rewritten = new Function('x', body) as (x: number) => Promise<unknown>;
      const error = await pool.run(rewritten, 1).catch((e: TaskError) => e);
      if (!(error instanceof TaskError)) return expect.fail('expected a TaskError');
      expect(error.message).to.include(`\`${helper}\``);
      expect(error.message).to.match(tool);
      expect(error.message).to.include("ctx.import('node:zlib')");
    });
  }

  it('names istanbul and advises a module task when coverage counters reach the thread', async () => {
    const covered = (x: number) => {
      cov_2cx3oynfd8().s[0]!++;
      return x;
    };
    const error = await pool.run(covered, 1).catch((e: TaskError) => e);
    if (typeof error === 'number') expect.fail('expected a rejection');
    expect(error.message).to.match(/`cov_2cx3oynfd8`, a coverage counter that istanbul \(nyc\).*moduleTask/);
  });

  it('names where it was created in the stack frames of the thread (sourceURL)', async () => {
    const error = await pool
      .run(() => {
        throw new Error('here');
      }, null)
      .catch((e: TaskError) => e);
    expect(error.cause.stack).to.match(/inline-task\(.*task\.spec\.ts:\d+:\d+\)/);
    // An operator's task is named after the operator call, not after rxjs's subscribe.
    const fromStream = await lastValueFrom(
      of(1).pipe(
        offloadToThread(
          (x: number) => {
            throw new Error(`there ${x}`);
          },
          { pool },
        ),
      ),
    ).catch((e: TaskError) => e);
    expect(fromStream.cause.stack).to.match(/inline-task\([^)]*task\.spec\.ts:\d+:\d+\)/);
  });
});
