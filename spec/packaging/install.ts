// One packed tarball and one npm install, shared by every packaging spec: rxthreads as npm would
// publish it, installed into a new project under os.tmpdir() with rxjs and @types/node 20, plus a
// sub-project with the newest @types/node. TypeScript tools (ts-node, tsx, typescript, nyc) are
// linked from this repository rather than installed again. The toolchain tier installs the same
// tarball once more, with its bundlers and test runners (toolchain-project.ts).

import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const repo = join(__dirname, '..', '..');
export const versionOf = (name: string): string =>
  JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version;

export interface Consumer {
  /** The project root: node_modules holds rxthreads from the tarball. */
  readonly dir: string;
  /** What the tarball holds. */
  readonly files: string[];
}

export const npmInstall = (cwd: string, packages: string[], flags: string[] = []) =>
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...flags, ...packages], {
    cwd,
  });

/** The tarball, packed once for every project that installs it. */
export interface Packed {
  /** Its absolute path. */
  readonly tarball: string;
  /** What it holds. */
  readonly files: string[];
}

let packing: Promise<Packed> | undefined;
let installing: Promise<Consumer> | undefined;
const made: string[] = [];

/** A new directory under os.tmpdir(), removed when mocha ends. */
export function temporaryDirectory(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

async function pack(): Promise<Packed> {
  if (!existsSync(join(repo, 'dist', 'index.js'))) throw new Error('dist/ is not built: run npm run build');
  const dir = temporaryDirectory('rxthreads-pack-');
  // --ignore-scripts: pack dist as built, rather than rebuild it under specs that are using it.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repo });
  const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  return { tarball: join(dir, packed.filename), files: packed.files.map((file) => file.path) };
}

/** The packed tarball, packed on first use. */
export function packed(): Promise<Packed> {
  packing ??= pack();
  return packing;
}

async function install(): Promise<Consumer> {
  const { tarball, files } = await packed();
  const dir = temporaryDirectory('rxthreads-consumer-');
  cpSync(join(__dirname, 'consumer'), dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  writeFileSync(join(dir, 'types26', 'package.json'), JSON.stringify({ name: 'consumer-types26', private: true }));
  await Promise.all([
    npmInstall(dir, [tarball, `rxjs@${versionOf('rxjs')}`, `@types/node@${versionOf('@types/node')}`]),
    npmInstall(join(dir, 'types26'), ['@types/node@26']),
  ]);
  for (const tool of ['ts-node', 'tsx', 'typescript', 'nyc']) {
    symlinkSync(join(repo, 'node_modules', tool), join(dir, 'node_modules', tool), 'dir');
  }
  return { dir, files };
}

/** The consumer project, installed on first use. */
export function consumer(): Promise<Consumer> {
  installing ??= install();
  return installing;
}

// The projects go when mocha ends, whichever spec used them last.
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
