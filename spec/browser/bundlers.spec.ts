// docs/browser.md's set-ups, built as a reader would build them and run in headless Chromium:
// the page's `// example: <path>` and `<!-- example: <path> -->` blocks are written as those
// files (a block without a folder goes into every bundler's folder), each bundler builds its
// folder, and the app must show what the page says it shows. rxthreads is linked from this
// repository, so each bundler finds dist/browser through the package's `browser` condition.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { BrowserHarness, requireChromium } from './harness';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');
const page = readFileSync(join(repo, 'docs', 'browser.md'), 'utf8');

/** The page's example files, by path. */
const examples = new Map<string, string>();
for (const match of page.matchAll(
  /^```(?:js|html)\n(?:\/\/ example: (\S+)|<!-- example: (\S+) -->)\n([\s\S]*?)^```$/gm,
)) {
  examples.set((match[1] ?? match[2])!, match[3]!);
}

const bundlers = ['vite', 'webpack', 'esbuild', 'nobundler'] as const;

/** How each folder is built, which folder is the site, and its page there. */
const builds: Record<(typeof bundlers)[number], { args: string[]; site: string; page?: string }> = {
  vite: { args: [join(repo, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], site: 'dist' },
  // webpack's Node API with the page's configuration (`npx webpack` needs webpack-cli, which adds nothing here).
  webpack: {
    args: [
      '--input-type=module',
      '--eval',
      "import webpack from 'webpack'; import config from './webpack.config.js'; webpack(config, (error, stats) => " +
        '{ if (error || stats.hasErrors()) { console.error(String(error ?? stats.toString())); process.exitCode = 1; } });',
    ],
    site: '.',
  },
  esbuild: { args: ['build.mjs'], site: '.' },
  // The page's import map reaches node_modules/ next to its folder.
  nobundler: { args: ['rxjs.build.mjs'], site: '..', page: 'nobundler/index.html' },
};

/** What the page says the app shows. */
const shown = /The page shows `(.*)`\./.exec(page)?.[1];

describe("docs/browser.md's set-ups, built and run", function () {
  this.timeout(120_000);
  const harness = new BrowserHarness();
  let dir: string;
  const built = new Map<string, Promise<void>>();

  before(async function () {
    requireChromium(this);
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-bundlers-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repo, join(dir, 'node_modules', 'rxthreads'));
    for (const name of ['rxjs', 'vite', 'webpack', 'esbuild']) {
      symlinkSync(join(repo, 'node_modules', name), join(dir, 'node_modules', name));
    }
    for (const [path, code] of examples) {
      const targets = path.includes('/') ? [path] : bundlers.map((bundler) => `${bundler}/${path}`);
      for (const target of targets) {
        mkdirSync(dirname(join(dir, target)), { recursive: true });
        writeFileSync(join(dir, target), code);
      }
    }
    // One build at a time: this machine may have two cores, and Chromium wants one.
    let previous: Promise<unknown> = harness.start();
    for (const bundler of bundlers) {
      const build = previous.then(() => run(process.execPath, builds[bundler].args, { cwd: join(dir, bundler) }));
      built.set(
        bundler,
        build.then(() => undefined),
      );
      previous = build.catch(() => undefined);
    }
    await previous;
  });

  after(async () => {
    await harness.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('has the app, each bundler’s files, and what the app shows', () => {
    expect([...examples.keys()]).to.include.members([
      'main.js',
      'square.js',
      'vite/index.html',
      'vite/vite.config.js',
      'webpack/webpack.config.js',
      'webpack/index.html',
      'esbuild/build.mjs',
      'esbuild/index.html',
      'nobundler/rxjs.build.mjs',
      'nobundler/index.html',
    ]);
    expect(shown).to.equal('{"squares":[1,4,9,16],"doubled":42}');
  });

  for (const bundler of bundlers) {
    const what = bundler === 'nobundler' ? 'a page with an import map for dist/browser' : `${bundler}: builds the app`;
    it(`${what}, whose module task and inline task run in Web Workers`, async () => {
      await built.get(bundler);
      const url = harness.serve(bundler, join(dir, bundler, builds[bundler].site));
      const app = await harness.visit(url + (builds[bundler].page ?? ''));
      const errors: string[] = [];
      app.on('pageerror', (error) => errors.push(error.message));
      try {
        await app.waitForFunction(() => document.body?.textContent?.includes('squares'), undefined, {
          timeout: 20_000,
        });
        expect(await app.evaluate(() => document.body.textContent)).to.equal(shown);
        expect(errors).to.deep.equal([]);
      } finally {
        await app.close();
      }
    });
  }
});
