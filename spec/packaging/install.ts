// One packed tarball and one npm install, shared by every packaging spec: rxthreads as npm would
// publish it, installed into a new project under os.tmpdir() with rxjs and @types/node 20, plus a
// sub-project with the newest @types/node. TypeScript tools (ts-node, tsx, typescript, nyc) are
// linked from this repository rather than installed again.

import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const repo = join(__dirname, '..', '..');
const versionOf = (name: string): string =>
  JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')).version;

export interface Consumer {
  /** The project root: node_modules holds rxthreads from the tarball. */
  readonly dir: string;
  /** What the tarball holds. */
  readonly files: string[];
}

const npmInstall = (cwd: string, packages: string[]) =>
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...packages], { cwd });

let installing: Promise<Consumer> | undefined;
let made: string | undefined;

async function install(): Promise<Consumer> {
  if (!existsSync(join(repo, 'dist', 'index.js'))) throw new Error('dist/ is not built: run npm run build');
  const dir = mkdtempSync(join(tmpdir(), 'rxthreads-consumer-'));
  made = dir;
  // --ignore-scripts: pack dist as built, rather than rebuild it under specs that are using it.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repo });
  const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  cpSync(join(__dirname, 'consumer'), dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  writeFileSync(join(dir, 'types26', 'package.json'), JSON.stringify({ name: 'consumer-types26', private: true }));
  await Promise.all([
    npmInstall(dir, [
      join(dir, packed.filename),
      `rxjs@${versionOf('rxjs')}`,
      `@types/node@${versionOf('@types/node')}`,
    ]),
    npmInstall(join(dir, 'types26'), ['@types/node@26']),
  ]);
  for (const tool of ['ts-node', 'tsx', 'typescript', 'nyc']) {
    symlinkSync(join(repo, 'node_modules', tool), join(dir, 'node_modules', tool), 'dir');
  }
  return { dir, files: packed.files.map((file) => file.path) };
}

/** The consumer project, installed on first use. */
export function consumer(): Promise<Consumer> {
  installing ??= install();
  return installing;
}

// The project goes when mocha ends, whichever spec used it last.
process.on('exit', () => {
  if (made !== undefined) rmSync(made, { recursive: true, force: true });
});
