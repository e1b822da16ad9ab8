// Runs the code of README.md and docs/*.md as a reader would paste it, so that it never rots.
//
// A ```ts or ```js block whose first line names a file is written, unchanged, as that file into a
// folder of its own page (README.md's blocks into readme/, docs/guide.md's into guide/, ...):
//
//   // file: <name>            a module that the page's programs load; written, not run
//   // <name> (CommonJS)       a program: a .ts or .cts file runs under ts-node, a .cjs or .js under node
//   // <name> (ES module)      a program: a .mts file runs under tsx, a .mjs under node
//
// The folders sit in one project whose package.json has no "type" (so a .ts file is CommonJS). The
// tsconfig.json that README.md gives to paste is in each folder, and at the top, where tsc
// type-checks every TypeScript file with it. A program's `// → text` comments are the lines it must print, in that order, and it must
// print nothing to stderr. A name is used once per page. In the pages of `strict` every ts and js
// block names its file; the other pages may also hold fragments (a signature, a one-line use), which
// are left alone. docs/remote.md's programs need a Redis: they are type-checked here, and
// spec/remote/docs.spec.ts runs them against a real one.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');

/** Pages in which every ts and js block must name its file. */
const strict = new Set([
  'README.md',
  'docs/guide.md',
  'docs/operators.md',
  'docs/pools.md',
  'docs/worker-modules.md',
  'docs/performance.md',
]);
/** Pages that must hold programs: the mechanism is checked to find them. */
const withPrograms = ['README.md', 'docs/guide.md', 'docs/operators.md', 'docs/pools.md', 'docs/worker-modules.md'];
/** Pages whose programs another spec runs, and which one. */
const runElsewhere = new Map([['docs/remote.md', 'spec/remote/docs.spec.ts (against a real Redis)']]);

type Runner = 'ts-node' | 'tsx' | 'node';

interface Program {
  /** `docs/guide.md line 45` */
  where: string;
  /** The page's folder in the project. */
  folder: string;
  file: string;
  runner: Runner;
  expected: string[];
}

const pages = ['README.md', ...readdirSync(join(repo, 'docs')).filter((name) => name.endsWith('.md'))].map((name) =>
  name === 'README.md' ? name : `docs/${name}`,
);
const files = new Map<string, string>(); // path in the project → content
const programs: Program[] = [];
const problems: string[] = [];

for (const page of pages) {
  const text = readFileSync(join(repo, page), 'utf8');
  const folder = page === 'README.md' ? 'readme' : page.slice('docs/'.length, -'.md'.length);
  const named = new Set<string>();
  for (const match of text.matchAll(/^```(ts|js)\n([\s\S]*?)^```$/gm)) {
    const code = match[2]!;
    const where = `${page} line ${text.slice(0, match.index).split('\n').length}`;
    const module = /^\/\/ file: (\S+)\n/.exec(code);
    const program = /^\/\/ (\S+\.(ts|cts|mts|js|cjs|mjs)) \((CommonJS|ES module)\)\n/.exec(code);
    const name = module?.[1] ?? program?.[1];
    if (name === undefined) {
      if (/^\/\/ \S+\.(ts|cts|mts|js|cjs|mjs)\b/.test(code)) {
        problems.push(`${where}: names a file, but not as "// file: <name>" or "// <name> (CommonJS|ES module)"`);
      } else if (strict.has(page)) {
        problems.push(`${where}: a block without "// file: <name>" or "// <name> (CommonJS|ES module)"`);
      }
      continue;
    }
    if (named.has(name)) problems.push(`${where}: ${name} is already a block of ${page}`);
    named.add(name);
    files.set(`${folder}/${name}`, code);
    if (program === null) continue;
    const [, , extension, system] = program;
    const esm = extension === 'mts' || extension === 'mjs';
    if (esm !== (system === 'ES module')) problems.push(`${where}: a .${extension} file is not ${system}`);
    if (runElsewhere.has(page)) continue;
    const runner: Runner = extension === 'mts' ? 'tsx' : extension === 'ts' || extension === 'cts' ? 'ts-node' : 'node';
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((found) => found[1]!);
    programs.push({ where, folder, file: name, runner, expected });
  }
}

/** The tsconfig.json README.md gives to paste: its ```json block with compilerOptions. */
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const tsconfig = [...readme.matchAll(/^```json\n([\s\S]*?)^```$/gm)]
  .map((match) => match[1]!)
  .find((block) => block.includes('"compilerOptions"'));

interface Outcome {
  stdout: string;
  stderr: string;
  error?: unknown;
}

describe('README and docs code, as pasted', function () {
  this.timeout(60_000);
  let dir: string;
  const results = new Map<Program, Promise<Outcome>>();
  // Never rejects: a program's failure is reported by its own test.
  const runProgram = (program: Program): Promise<Outcome> => {
    const bin = {
      'ts-node': [join(repo, 'node_modules', 'ts-node', 'dist', 'bin.js')],
      tsx: [join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs')],
      node: [],
    }[program.runner];
    // ts-node only transpiles: tsc has type-checked every file with the same tsconfig.json.
    const env = { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' };
    return run(process.execPath, [...bin, program.file], { cwd: join(dir, program.folder), env }).then(
      ({ stdout, stderr }) => ({ stdout, stderr }),
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
        error,
      }),
    );
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-docs-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repo, join(dir, 'node_modules', 'rxthreads'));
    for (const name of ['rxjs', '@types', 'typescript', 'ts-node', 'tsx', 'bullmq', 'ioredis']) {
      symlinkSync(join(repo, 'node_modules', name), join(dir, 'node_modules', name));
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'docs', private: true }));
    // The tsconfig.json at the top is tsc's; each page's folder has its own copy, next to its
    // programs, as a reader has it.
    const folders = new Set(programs.map((program) => program.folder));
    for (const folder of ['', ...folders]) {
      mkdirSync(join(dir, folder), { recursive: true });
      if (tsconfig !== undefined) writeFileSync(join(dir, folder, 'tsconfig.json'), tsconfig);
    }
    for (const [path, code] of files) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), code);
    }
    // Two at a time: most of each run is a runtime starting, and this machine may have two cores.
    const lanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
    programs.forEach((program, index) => {
      const result = lanes[index % lanes.length]!.then(() => runProgram(program));
      lanes[index % lanes.length] = result;
      results.set(program, result);
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds programs of every kind, and every block that names a file names it as the convention says', () => {
    expect(problems).to.deep.equal([]);
    expect(tsconfig, 'README.md: a ```json block with the tsconfig.json to paste').to.not.equal(undefined);
    expect(new Set(programs.map((program) => `${program.runner} ${program.file.split('.').pop()}`))).to.include.keys(
      'ts-node ts',
      'tsx mts',
      'node cjs',
      'node mjs',
    );
    for (const page of withPrograms) {
      expect(
        programs.some((program) => program.where.startsWith(`${page} `)),
        `${page} has programs`,
      ).to.equal(true);
    }
  });

  it('keeps README.md a landing page: at most 250 lines, the rest in docs/', () => {
    expect(readme.split('\n').length).to.be.at.most(250);
  });

  it("type-checks every TypeScript block with README.md's tsconfig.json (tsc --noEmit)", async () => {
    const tsc = join(repo, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', 'tsconfig.json', '--noEmit'], { cwd: dir }).catch(
      (error: { stdout: string }) => error,
    );
    expect(result.stdout).to.equal('');
  });

  for (const program of programs) {
    it(`runs ${program.file} (${program.where}) under ${program.runner}`, async () => {
      const { stdout, stderr, error } = await results.get(program)!;
      expect(error, stderr).to.equal(undefined);
      expect(stderr).to.equal('');
      const lines = stdout.split('\n');
      let at = 0;
      for (const expected of program.expected) {
        const found = lines.indexOf(expected, at);
        expect(found, `"${expected}" in:\n${stdout}`).to.be.greaterThanOrEqual(0);
        at = found + 1;
      }
    });
  }
});
