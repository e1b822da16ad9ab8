// rxthreads from the packed tarball under TypeScript runtimes: tsx (an ES module program) and
// ts-node with TypeScript 6 (a CommonJS program, type-checked) run consumer/tsx/main.ts and
// consumer/ts-node/main.ts, which run consumer/shared/pipeline.ts with a TypeScript task module
// named as its compiled .js. docs/toolchains.md shows these files and commands.

import { expect } from 'chai';
import { runtimeCases } from './toolchain-cases';
import { dynamicImportSeen, expectPipeline, type Outcome, runCase, seen, toolchainProject } from './toolchain-project';

describe('TypeScript runtimes: the packed tarball under tsx and ts-node with TypeScript 6', function () {
  this.timeout(15 * 60_000);
  const outcomes = new Map<string, Promise<Outcome>>();
  const outcome = (name: string): Promise<Outcome> => outcomes.get(name)!;

  before(async () => {
    await toolchainProject();
    for (const [name, spec] of Object.entries(runtimeCases)) outcomes.set(name, runCase(name, spec));
  });
  after(() => Promise.all(outcomes.values()));

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a TypeScript module task, a cancel and take(n) under tsx', async () => {
    expectPipeline(await outcome('tsx'));
  });

  it('runs an inline task that uses await import() under tsx', async () => {
    expect(seen(await outcome('tsx'), ['dynamicImport']).dynamicImport).to.deep.equal(dynamicImportSeen);
  });

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a TypeScript module task, a cancel and take(n) under ts-node with TypeScript 6, type-checked', async () => {
    expectPipeline(await outcome('ts-node'));
  });

  it('runs an inline task that uses await import() under ts-node with TypeScript 6, which compiles it to require()', async () => {
    expect(seen(await outcome('ts-node'), ['dynamicImport']).dynamicImport).to.deep.equal(dynamicImportSeen);
  });
});
