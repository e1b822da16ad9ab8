// rxthreads from the packed tarball, bundled: esbuild (one CommonJS file, one ES module file),
// webpack 5 and a Vite SSR build. Each bundles consumer/<tool>/main.ts with
// consumer/shared/pipeline.ts, carries the task module the way that bundler can, and runs the
// output: a one-file bundle from a new directory that holds only the build output. docs/toolchains.md
// shows these files and commands.

import { expect } from 'chai';
import { bundlerCases } from './toolchain-cases';
import {
  dynamicImportSeen,
  expectHelperNamed,
  expectPipeline,
  type Outcome,
  runCase,
  seen,
  toolchainProject,
} from './toolchain-project';

describe('bundlers: the packed tarball bundled by esbuild, webpack and Vite', function () {
  this.timeout(15 * 60_000);
  const outcomes = new Map<string, Promise<Outcome>>();
  const outcome = (name: string): Promise<Outcome> => outcomes.get(name)!;

  before(async () => {
    await toolchainProject();
    for (const [name, spec] of Object.entries(bundlerCases)) outcomes.set(name, runCase(name, spec));
  });
  // Nothing this tier started runs on into the next spec file.
  after(() => Promise.all(outcomes.values()));

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a module task, a cancel and take(n), bundled by esbuild into one CommonJS file run alone (the task module carried by the file loader)', async () => {
    expectPipeline(await outcome('esbuild-cjs'));
  });

  it('runs an inline task that uses await import() in the esbuild CommonJS bundle, which keeps import() as written', async () => {
    expect(seen(await outcome('esbuild-cjs'), ['dynamicImport']).dynamicImport).to.deep.equal(dynamicImportSeen);
  });

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a module task, a cancel and take(n), bundled by esbuild into one ES module file run alone (the task module a second entry point)', async () => {
    expectPipeline(await outcome('esbuild-esm'));
  });

  it('runs an inline task that uses await import() in the esbuild ES module bundle, which keeps import() as written', async () => {
    expect(seen(await outcome('esbuild-esm'), ['dynamicImport']).dynamicImport).to.deep.equal(dynamicImportSeen);
  });

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a module task, a cancel and take(n), bundled and minified by webpack 5 (target node) into one file run alone (the task module an asset named by new URL)', async () => {
    expectPipeline(await outcome('webpack'));
  });

  it('fails an inline task that uses await import() in a webpack bundle (not minified) with an error naming __webpack_require__, webpack and ctx.import', async () => {
    expectHelperNamed(await outcome('webpack-readable'), '__webpack_require__', /webpack/);
  });

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a module task, a cancel and take(n), built by vite build --ssr with its dependencies external (the task module a second entry)', async () => {
    expectPipeline(await outcome('vite-ssr'));
  });

  it('runs an inline task that uses await import() in a Vite SSR build, which keeps import() as written', async () => {
    expect(seen(await outcome('vite-ssr'), ['dynamicImport']).dynamicImport).to.deep.equal(dynamicImportSeen);
  });

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a module task, a cancel and take(n), built by vite build --ssr with every dependency bundled (ssr.noExternal) and run alone', async () => {
    expectPipeline(await outcome('vite-ssr-bundled'));
  });
});
