// The toolchain tier's project and runner (bundlers.spec.ts, test-runners.spec.ts,
// typescript-runtimes.spec.ts): the packed tarball installed once into a new project with every
// bundler, test runner and TypeScript runtime the tier uses, the consumer folders copied in
// (spec/packaging/consumer/<tool>/, each a small program or test suite that runs
// consumer/shared/pipeline.ts), and each folder's commands run as child processes with a time limit,
// two at a time. A program prints what it saw as JSON lines; a case's outcome is those lines merged,
// or, when it printed none, what its commands said.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect } from 'chai';
import { npmInstall, packed, temporaryDirectory, versionOf } from './install';
import { toolchainCases } from './toolchain-cases';

/**
 * The tools, pinned to versions that install with npm 11 on Node 20.19 and later. Babel stays on 7:
 * Babel 8 needs Node 22.18. vite 7 is the newest Vite that vitest 3 accepts.
 */
export const toolVersions: Record<string, string> = {
  rxjs: versionOf('rxjs'),
  '@types/node': versionOf('@types/node'),
  esbuild: '0.28.2',
  webpack: '5.113.0',
  'webpack-cli': '7.3.1',
  'ts-loader': '9.6.2',
  vite: '7.3.8',
  vitest: '3.2.7',
  jest: '30.5.2',
  'babel-jest': '30.5.2',
  '@babel/core': '7.29.16',
  '@babel/preset-env': '7.29.14',
  '@babel/preset-typescript': '7.29.16',
  'ts-jest': '29.4.15',
  typescript: '6.0.3',
  'ts-node': '10.9.2',
  tsx: '4.23.15',
};

/** How long one command may run before it is killed (a loaded 2-core machine builds slowly). */
const commandTimeoutMs = 240_000;

export interface Project {
  readonly dir: string;
  /** How long the npm install took, in ms. */
  readonly installMs: number;
}

let installing: Promise<Project> | undefined;

/** The consumer folders the cases run, and the program they share. */
export function consumerFolders(): string[] {
  return ['shared', ...new Set(Object.values(toolchainCases).map((spec) => spec.folder))];
}

async function install(): Promise<Project> {
  const { tarball } = await packed();
  const dir = temporaryDirectory('rxthreads-toolchains-');
  for (const folder of consumerFolders()) {
    cpSync(join(__dirname, 'consumer', folder), join(dir, folder), { recursive: true });
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'toolchains', private: true }));
  const started = Date.now();
  // --ignore-scripts: no tool fetches anything at install time; what they run comes from npm.
  await npmInstall(
    dir,
    [tarball, ...Object.entries(toolVersions).map(([name, version]) => `${name}@${version}`)],
    ['--ignore-scripts'],
  );
  return { dir, installMs: Date.now() - started };
}

/** The tier's project, installed on first use. */
export function toolchainProject(): Promise<Project> {
  installing ??= install();
  return installing;
}

/** The scripts behind the command names that docs/toolchains.md shows, run with this Node. */
const bins: Record<string, string> = {
  esbuild: 'esbuild/bin/esbuild',
  webpack: 'webpack-cli/bin/cli.js',
  vite: 'vite/bin/vite.js',
  jest: 'jest/bin/jest.js',
  vitest: 'vitest/vitest.mjs',
  tsx: 'tsx/dist/cli.mjs',
};

export interface Case {
  /** The consumer folder. */
  readonly folder: string;
  /** Command lines as docs/toolchains.md shows them, run one after another in the folder. */
  readonly commands: readonly string[];
  /**
   * The last command runs in a new directory under os.tmpdir() holding only this build output
   * folder's files (and `packageJson`, if given), out of reach of the project's node_modules.
   */
  readonly alone?: { readonly output: string; readonly packageJson?: object };
}

export interface Step {
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface Outcome {
  readonly name: string;
  readonly steps: Step[];
  /** The JSON lines the program printed, merged. */
  readonly saw: Record<string, unknown>;
  /** Where the last command ran. */
  readonly cwd: string;
}

/** This process's environment, less what would change how a tool compiles or runs (ts-node's settings, Node flags). */
const toolEnvironment: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('TS_NODE_') && name !== 'NODE_OPTIONS'),
  ),
  NO_COLOR: '1',
  FORCE_COLOR: '0',
  CI: 'true',
};

const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function runCommand(dir: string, cwd: string, command: string): Promise<Step> {
  const [tool, ...args] = command.split(' ');
  const script = tool === 'node' ? [] : [join(dir, 'node_modules', bins[tool!]!)];
  const started = Date.now();
  return new Promise((resolve) => {
    // Its own process group, so that a timeout ends the tool and whatever it started.
    const child: ChildProcess = spawn(process.execPath, [...script, ...args], {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: toolEnvironment,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, commandTimeoutMs);
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      resolve({
        command,
        code,
        signal,
        timedOut,
        stdout: stdout.replace(ansi, ''),
        stderr: stderr.replace(ansi, ''),
        ms: Date.now() - started,
      });
    };
    child.on('error', (error) => {
      stderr += String(error);
      done(null, null);
    });
    child.on('close', done);
  });
}

/** The JSON objects printed alone on a line, merged. */
function jsonLines(stdout: string): Record<string, unknown> {
  const saw: Record<string, unknown> = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      Object.assign(saw, JSON.parse(line));
    } catch {
      // Not one of ours.
    }
  }
  return saw;
}

/** Where the build output runs alone: nothing above it holds node_modules/rxthreads. */
function aloneDirectory(from: string, packageJson: object | undefined): string {
  const dir = temporaryDirectory('rxthreads-alone-');
  cpSync(from, dir, { recursive: true });
  if (packageJson !== undefined) writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson));
  // (createRequire: require.resolve with `paths` would find this repository itself, named rxthreads.)
  const fromThere = createRequire(join(dir, 'main.js'));
  expect(() => fromThere.resolve('rxthreads'), `rxthreads is reachable from ${dir}`).to.throw();
  return dir;
}

// Two cases at a time across the tier: most of a case is a compiler or bundler starting.
const lanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
let nextLane = 0;

/** Runs a case's commands, after those queued before it in its lane. Never rejects. */
export function runCase(name: string, { folder, commands, alone }: Case): Promise<Outcome> {
  const lane = nextLane++ % lanes.length;
  const outcome = lanes[lane]!.then(async (): Promise<Outcome> => {
    const { dir } = await toolchainProject();
    const steps: Step[] = [];
    let cwd = join(dir, folder);
    for (const [index, command] of commands.entries()) {
      if (alone !== undefined && index === commands.length - 1) {
        const output = join(cwd, alone.output);
        cwd = aloneDirectory(output, alone.packageJson);
        // The bundle must not point back into the project it was built in.
        for (const file of ['main.js', 'main.mjs']) {
          let text: string | undefined;
          try {
            text = readFileSync(join(cwd, file), 'utf8');
          } catch {
            continue;
          }
          expect(text.includes(dir), `${file} names the project directory ${dir}`).to.equal(false);
        }
      }
      const step = await runCommand(dir, cwd, command);
      steps.push(step);
      if (step.code !== 0 && index < commands.length - 1) break; // the build failed: nothing to run
    }
    return { name, steps, saw: jsonLines(steps.map((step) => step.stdout).join('\n')), cwd };
  });
  const settled = outcome.catch(
    (error: unknown): Outcome => ({
      name,
      steps: [
        { command: '(harness)', code: null, signal: null, timedOut: false, stdout: '', stderr: String(error), ms: 0 },
      ],
      saw: {},
      cwd: '',
    }),
  );
  lanes[lane] = settled;
  return settled;
}

/** What a case's commands said, for a failure message: each command's exit and the end of its output. */
export function report({ name, steps }: Outcome): string {
  return steps
    .map((step, index) => {
      const ending = step.timedOut ? `killed after ${step.ms} ms` : `exit ${step.code ?? step.signal}`;
      const heading = `${name}: \`${step.command}\` (${ending}, ${step.ms} ms)`;
      // A build that worked says nothing of interest.
      if (step.code === 0 && index < steps.length - 1) return heading;
      const output = `${step.stderr}\n${step.stdout}`
        .split('\n')
        .filter((line) => line.trim() !== '' && !/^\s+at /.test(line))
        .slice(0, 25)
        .join('\n');
      return `${heading}\n${output}`;
    })
    .join('\n');
}

/** The fields a case printed, or an error saying what its commands said instead. */
export function seen(outcome: Outcome, keys: readonly string[]): Record<string, unknown> {
  const missing = keys.filter((key) => !(key in outcome.saw));
  if (missing.length > 0) {
    throw new Error(`${outcome.name} printed no ${missing.join(', ')}:\n${report(outcome)}`);
  }
  return Object.fromEntries(keys.map((key) => [key, outcome.saw[key]]));
}

const hash = (x: number): string => createHash('sha256').update(String(x)).digest('hex').slice(0, 8);

/** What consumer/shared/pipeline.ts sees where rxthreads works. */
export const pipelineSeen = {
  ctxImport: [1, 2, 3].map(hash),
  moduleTask: [1, 4, 9],
  cancel: { started: 1, sawAbort: 1 },
  take: [2, 4, 6],
};

/** What the inline task with `await import('node:crypto')` returns where it runs. */
export const dynamicImportSeen = [1, 2, 3].map(hash);

/** Asserts that a case ran the pipeline: ctx.import, the module task, the cancel and take(n). */
export function expectPipeline(outcome: Outcome): void {
  expect(seen(outcome, Object.keys(pipelineSeen))).to.deep.equal(pipelineSeen);
}

/**
 * Asserts that an inline task with `await import()` fails with an error that names the helper the
 * tool put in its place, the tool, and ctx.import as the way out.
 */
export function expectHelperNamed(outcome: Outcome, helper: string, tool: RegExp): void {
  const { dynamicImport } = seen(outcome, ['dynamicImport']);
  expect(dynamicImport).to.be.a('string');
  const message = dynamicImport as string;
  expect(message).to.include(`\`${helper}\``);
  expect(message).to.match(tool);
  expect(message).to.include('ctx.import');
}

/**
 * Asserts that a TypeScript task module named as its compiled .js (only square.ts exists) runs in a
 * process without a TypeScript runtime of its own: the thread loads it with the tsx the project
 * installs. (Without one it fails naming both files and the fix, as
 * spec/system/typescript-tasks.spec.ts checks.)
 */
export function expectTypeScriptNamedAsJs(outcome: Outcome): void {
  expect(seen(outcome, ['tsNamedJs']).tsNamedJs).to.equal(9);
}
