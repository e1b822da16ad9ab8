// Runs the code in README.md and docs/*.md as a user would paste it, so that it never rots.
//
// A ```ts block whose first line is `// <name>.ts (CommonJS)` or `// <name>.mts (ES module)` is a
// program: it is written as that file, unchanged, into a project whose package.json has no
// "type" (so a .ts file is CommonJS), type-checked with tsc (strict, module nodenext), and run:
// a CommonJS .ts under ts-node, an ES module .mts under tsx. A block whose first line is
// `// file: <name>` is a module written under that name next to the programs. In README.md every
// ```ts block must be one or the other; in docs/*.md, other blocks are fragments and are left
// alone. A program's `// → text` comments are its expected output lines, in order.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');

interface Program {
  /** `README.md line 45` */
  where: string;
  file: string;
  system: 'CommonJS' | 'ES module';
  expected: string[];
}

const documents = ['README.md', ...readdirSync(join(repo, 'docs')).filter((name) => name.endsWith('.md'))];
const modules = new Map<string, string>();
const programs: Program[] = [];
const unmarked: string[] = [];
for (const document of documents) {
  const path = document === 'README.md' ? join(repo, document) : join(repo, 'docs', document);
  const text = readFileSync(path, 'utf8');
  const shown = document === 'README.md' ? document : `docs/${document}`;
  for (const match of text.matchAll(/^```(ts|js)\n([\s\S]*?)^```$/gm)) {
    const code = match[2]!;
    const where = `${shown} line ${text.slice(0, match.index).split('\n').length}`;
    const file = /^\/\/ file: (\S+)\n/.exec(code);
    if (file !== null) {
      modules.set(file[1]!, code);
      continue;
    }
    if (match[1] !== 'ts') continue;
    const header = /^\/\/ (\S+\.(?:ts|mts)) \((CommonJS|ES module)\)\n/.exec(code);
    if (header === null) {
      if (document === 'README.md') unmarked.push(where);
      continue;
    }
    const [, name, system] = header as unknown as [string, string, Program['system']];
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((found) => found[1]!);
    const written = `${programs.length}-${name}`;
    modules.set(written, code);
    programs.push({ where, file: written, system, expected });
  }
}

interface Outcome {
  stdout: string;
  stderr: string;
  error?: unknown;
}

describe('README and docs programs, as pasted', function () {
  this.timeout(60_000);
  let dir: string;
  const results = new Map<Program, Promise<Outcome>>();
  // Never rejects: a program's failure is reported by its own test.
  const runProgram = (program: Program): Promise<Outcome> => {
    const args =
      program.system === 'CommonJS'
        ? ['-r', 'ts-node/register', program.file]
        : [join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs'), program.file];
    return run(process.execPath, args, { cwd: dir }).then(
      ({ stdout, stderr }) => ({ stdout, stderr }),
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
        error,
      }),
    );
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-docs-readme-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repo, join(dir, 'node_modules', 'rxthreads'));
    for (const name of ['rxjs', '@types', 'ts-node', 'tsx']) {
      symlinkSync(join(repo, 'node_modules', name), join(dir, 'node_modules', name));
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme', private: true }));
    const compilerOptions = {
      target: 'ES2022',
      lib: ['ES2023', 'ESNext.Disposable'],
      module: 'nodenext',
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      noEmit: true,
    };
    const tsconfig = { compilerOptions, include: ['*.ts', '*.mts'], 'ts-node': { transpileOnly: true } };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    for (const [name, code] of modules) writeFileSync(join(dir, name), code);
    // Two at a time: most of each run is a TypeScript runtime starting, and this machine may have two cores.
    const lanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
    programs.forEach((program, index) => {
      const result = lanes[index % lanes.length]!.then(() => runProgram(program));
      lanes[index % lanes.length] = result;
      results.set(program, result);
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has programs and modules, and every README ts block says what file it is', () => {
    expect(programs.length).to.be.greaterThan(8);
    expect(modules.size).to.be.greaterThan(4);
    expect(programs.map((program) => program.system)).to.include.members(['CommonJS', 'ES module']);
    expect(unmarked, 'blocks without a `// name.ts (CommonJS)` or `// name.mts (ES module)` line').to.deep.equal([]);
  });

  it('type-checks (tsc --noEmit, strict, module nodenext)', async () => {
    const tsc = join(repo, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', 'tsconfig.json'], { cwd: dir }).catch((error: { stdout: string }) => error);
    expect(result.stdout).to.equal('');
  });

  for (const program of programs) {
    it(`runs the ${program.system} program at ${program.where}`, async () => {
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
