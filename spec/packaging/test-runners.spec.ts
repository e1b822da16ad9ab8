// rxthreads from the packed tarball under test runners: jest with babel-jest, jest with ts-jest and
// vitest run consumer/jest/ and consumer/vitest/: pipeline.test.ts runs
// consumer/shared/pipeline.ts, named-js.test.ts names a TypeScript task module as its compiled .js.
// docs/toolchains.md shows these files and commands.

import { expect } from 'chai';
import { testRunnerCases } from './toolchain-cases';
import {
  dynamicImportSeen,
  expectHelperNamed,
  expectPipeline,
  expectTypeScriptNamedAsJs,
  type Outcome,
  runCase,
  seen,
  toolchainProject,
} from './toolchain-project';

describe('test runners: the packed tarball under jest (babel-jest, ts-jest) and vitest', function () {
  this.timeout(15 * 60_000);
  const outcomes = new Map<string, Promise<Outcome>>();
  const outcome = (name: string): Promise<Outcome> => outcomes.get(name)!;

  before(async () => {
    await toolchainProject();
    for (const [name, spec] of Object.entries(testRunnerCases)) outcomes.set(name, runCase(name, spec));
  });
  after(() => Promise.all(outcomes.values()));

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a module task, a cancel and take(n) in a jest test compiled by babel-jest', async () => {
    expectPipeline(await outcome('jest, babel-jest'));
  });

  it('fails an inline task that uses await import() under babel-jest with an error naming _interopRequireWildcard, babel and ctx.import', async () => {
    expectHelperNamed(await outcome('jest, babel-jest'), '_interopRequireWildcard', /babel/);
  });

  it('runs a TypeScript task module named as its compiled .js (only square.ts exists) under babel-jest, with the tsx the project installs', async () => {
    expectTypeScriptNamedAsJs(await outcome('jest, babel-jest'));
  });

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a module task, a cancel and take(n) in a jest test compiled and type-checked by ts-jest', async () => {
    expectPipeline(await outcome('jest, ts-jest'));
  });

  it('runs an inline task that uses await import() under ts-jest, which compiles it to require()', async () => {
    expect(seen(await outcome('jest, ts-jest'), ['dynamicImport']).dynamicImport).to.deep.equal(dynamicImportSeen);
  });

  it('runs a TypeScript task module named as its compiled .js (only square.ts exists) under ts-jest, with the tsx the project installs', async () => {
    expectTypeScriptNamedAsJs(await outcome('jest, ts-jest'));
  });

  it('runs a pipeline with an inline task that imports a node module through ctx.import, a module task, a cancel and take(n) in a vitest test', async () => {
    expectPipeline(await outcome('vitest'));
  });

  it('fails an inline task that uses await import() under vitest with an error naming __vite_ssr_dynamic_import__, Vite and ctx.import', async () => {
    expectHelperNamed(await outcome('vitest'), '__vite_ssr_dynamic_import__', /vite/i);
  });

  it('runs a TypeScript task module named as its compiled .js (only square.ts exists) under vitest, with the tsx the project installs', async () => {
    expectTypeScriptNamedAsJs(await outcome('vitest'));
  });
});
