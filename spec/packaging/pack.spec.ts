// Packs rxthreads as npm would publish it, installs the tarball into a new project, and uses it
// there from CommonJS, from an ES module, and from TypeScript (type-checked with tsc). The
// programs are in spec/packaging/consumer/basic/.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { type Consumer, consumer, repo, run } from './install';

describe('packaging', function () {
  this.timeout(120_000);
  let installed: Consumer;
  let dir: string;
  before(async () => {
    installed = await consumer();
    dir = join(installed.dir, 'basic');
  });

  it('packs dist/, package.json, README and LICENSE only', () => {
    expect(installed.files).to.include.members([
      'package.json',
      'dist/index.js',
      'dist/worker.d.ts',
      'dist/lib/thread/entry.js',
      'dist/browser/index.mjs',
    ]);
    expect(
      installed.files.filter(
        (path) => !path.startsWith('dist/') && path !== 'package.json' && !/^(README|LICENSE)/i.test(path),
      ),
    ).to.deep.equal([]);
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
    const installedPackage = join(installed.dir, 'node_modules', 'rxthreads');
    const manifest = JSON.parse(readFileSync(join(installedPackage, 'package.json'), 'utf8'));
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
      expect(manifest.scripts ?? {}, script).not.to.have.property(script);
    }
    expect(manifest.repository.url).to.match(/^git\+https:\/\//);
    expect(manifest.homepage).to.match(/^https:\/\//);
    expect(manifest.bugs.url).to.match(/^https:\/\//);
    expect(manifest.keywords).to.include.members(['rxjs', 'worker_threads']);
    // The npm page renders the README on its own: every link and image must be absolute.
    const readme = readFileSync(join(installedPackage, 'README.md'), 'utf8');
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
