// The installed package under each toolchain a TypeScript user has: ts-node, tsx (CommonJS and ES
// module), node --import tsx, node --loader ts-node/esm, tsc output (CommonJS and ES module), @types/node 20 and 26
// with skipLibCheck off, moduleResolution node10, and an nyc coverage run. The programs are in
// spec/packaging/consumer/; each prints what its tasks returned, or the error they failed with.

import { join } from 'node:path';
import { expect } from 'chai';
import { consumer, run } from './install';

interface Outcome {
  stdout: string;
  stderr: string;
  failure?: string;
}

type Step = { cwd: string; args: string[] };

const cjsResults = {
  ts: 9,
  cts: 27,
  mts: 1.5,
  resolve: 16,
  inlineNamed: [4, 6, 8],
  inlineAsync: 20,
  inlineImport: 'ca978112',
};
const esmResults = { url: 9, resolve: 16, topLevelAwait: 101, mts: 1.5, inlineNamed: [2, 3] };

describe('toolchains', function () {
  this.timeout(180_000);
  const outcomes = new Map<string, Promise<Outcome>>();

  const cases: Record<string, (dir: string) => Step[]> = {
    'ts-node, CommonJS': (dir) => [{ cwd: join(dir, 'cjs'), args: ['-r', 'ts-node/register', 'main.ts'] }],
    'tsx, CommonJS': (dir) => [
      { cwd: join(dir, 'cjs'), args: [join(dir, 'node_modules/tsx/dist/cli.mjs'), 'main.ts'] },
    ],
    'tsc output, CommonJS (node10 resolution, @types/node 20, skipLibCheck off)': (dir) => [
      { cwd: join(dir, 'cjs'), args: [join(dir, 'node_modules/typescript/bin/tsc'), '-p', '.'] },
      { cwd: join(dir, 'cjs'), args: ['out/main.js'] },
    ],
    'tsx, ES module': (dir) => [
      { cwd: join(dir, 'esm'), args: [join(dir, 'node_modules/tsx/dist/cli.mjs'), 'main.ts'] },
    ],
    'node --import tsx': (dir) => [{ cwd: join(dir, 'esm'), args: ['--import', 'tsx', 'main.ts'] }],
    'node --loader ts-node/esm': (dir) => [
      { cwd: join(dir, 'esm'), args: ['--no-warnings', '--loader', 'ts-node/esm', 'main.ts'] },
    ],
    'tsc output, ES module': (dir) => [
      { cwd: join(dir, 'esm'), args: [join(dir, 'node_modules/typescript/bin/tsc'), '-p', '.'] },
      { cwd: join(dir, 'esm'), args: ['out/main.js'] },
    ],
    '@types/node 26, skipLibCheck off': (dir) => [
      { cwd: join(dir, 'types26'), args: [join(dir, 'node_modules/typescript/bin/tsc'), '-p', '.'] },
    ],
    'nyc coverage': (dir) => [
      {
        cwd: join(dir, 'nyc'),
        args: [join(dir, 'node_modules/nyc/bin/nyc.js'), '--silent', '--reporter=none', process.execPath, 'inline.js'],
      },
    ],
  };

  const runSteps = async (steps: Step[]): Promise<Outcome> => {
    let last: Outcome = { stdout: '', stderr: '' };
    for (const { cwd, args } of steps) {
      try {
        const { stdout, stderr } = await run(process.execPath, args, { cwd, timeout: 60_000 });
        last = { stdout, stderr };
      } catch (error) {
        const { stdout = '', stderr = '', message } = error as { stdout?: string; stderr?: string; message: string };
        return { stdout, stderr, failure: `${args.join(' ')}: ${message}\n${stdout}\n${stderr}` };
      }
    }
    return last;
  };

  before(async () => {
    const { dir } = await consumer();
    // Two at a time: most of each case is a compiler starting, and this machine may have two cores.
    const lanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
    Object.entries(cases).forEach(([name, steps], index) => {
      const outcome = lanes[index % lanes.length]!.then(() => runSteps(steps(dir)));
      lanes[index % lanes.length] = outcome;
      outcomes.set(name, outcome);
    });
  });

  const result = async (name: string): Promise<Outcome> => {
    const outcome = await outcomes.get(name)!;
    expect(outcome.failure, outcome.failure).to.equal(undefined);
    return outcome;
  };

  for (const name of [
    'ts-node, CommonJS',
    'tsx, CommonJS',
    'tsc output, CommonJS (node10 resolution, @types/node 20, skipLibCheck off)',
  ]) {
    it(`${name}: .ts .cts .mts modules named as .js, require.resolve, inline tasks`, async () => {
      expect(JSON.parse((await result(name)).stdout)).to.deep.equal(cjsResults);
    });
  }

  for (const name of ['tsx, ES module', 'node --import tsx', 'node --loader ts-node/esm', 'tsc output, ES module']) {
    it(`${name}: new URL and import.meta.resolve of .js names, top-level await, .mts, inline tasks`, async () => {
      expect(JSON.parse((await result(name)).stdout)).to.deep.equal(esmResults);
    });
  }

  it('type-checks against @types/node 26 with skipLibCheck off, and Transferable is not any', async () => {
    expect((await result('@types/node 26, skipLibCheck off')).stdout).to.equal('');
  });

  it('under nyc, an instrumented inline task fails with an error naming istanbul and advising a module task', async () => {
    const { error } = JSON.parse((await result('nyc coverage')).stdout) as { error?: string };
    expect(error).to.match(/coverage counter that istanbul \(nyc\) inserted.*Use moduleTask/);
  });
});
