// Runs the code in README.md, so that it never rots. A ```ts block is a program, unless its first
// line is `// file: <name>`, which makes the block a module written under that name next to the
// programs. A program's `// → text` comments are its expected output lines, in order.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

interface Program {
  name: string;
  line: number;
  source: string;
  expected: string[];
}

const modules = new Map<string, string>();
const programs: Program[] = [];
for (const match of readme.matchAll(/^```(ts|js)\n([\s\S]*?)^```$/gm)) {
  const code = match[2]!;
  const line = readme.slice(0, match.index).split('\n').length;
  const file = /^\/\/ file: (\S+)\n/.exec(code);
  if (file !== null) {
    modules.set(file[1]!, code);
    continue;
  }
  if (match[1] !== 'ts') continue;
  // Imports stay at the top; the rest runs in an async function, so that the README can use `await`.
  const lines = code.split('\n');
  const imports = lines.filter((text) => text.startsWith('import '));
  const body = lines.filter((text) => !text.startsWith('import '));
  const source = `${imports.join('\n')}\n(async () => {\n${body.join('\n')}\n})().catch((error) => {\n  console.error(error);\n  process.exitCode = 1;\n});\n`;
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((found) => found[1]!);
  programs.push({ name: `program-${line}.ts`, line, source, expected });
}

interface Outcome {
  stdout: string;
  stderr: string;
  error?: unknown;
}

describe('README', function () {
  this.timeout(30_000);
  let dir: string;
  const results = new Map<string, Promise<Outcome>>();
  // Never rejects: a program's failure is reported by its own test.
  const runProgram = (name: string): Promise<Outcome> =>
    run(process.execPath, ['-r', 'ts-node/register', name], { cwd: dir }).then(
      ({ stdout, stderr }) => ({ stdout, stderr }),
      (error: { stdout?: string; stderr?: string }) => ({
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
        error,
      }),
    );
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-docs-readme-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repo, join(dir, 'node_modules', 'rxthreads'));
    for (const name of ['rxjs', '@types', 'ts-node']) {
      symlinkSync(join(repo, 'node_modules', name), join(dir, 'node_modules', name));
    }
    const compilerOptions = {
      target: 'ES2022',
      lib: ['ES2023', 'ESNext.Disposable'],
      module: 'nodenext',
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      noEmit: true,
    };
    const tsconfig = { compilerOptions, include: ['*.ts'], 'ts-node': { transpileOnly: true } };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    for (const [name, code] of modules) writeFileSync(join(dir, name), code);
    for (const program of programs) writeFileSync(join(dir, program.name), program.source);
    // Two at a time: most of each run is ts-node starting, and this machine may have two cores.
    const lanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
    programs.forEach((program, index) => {
      const result = lanes[index % lanes.length]!.then(() => runProgram(program.name));
      lanes[index % lanes.length] = result;
      results.set(program.name, result);
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has programs and modules', () => {
    expect(programs.length).to.be.greaterThan(8);
    expect(modules.size).to.be.greaterThan(4);
  });

  it('type-checks (tsc --noEmit, strict)', async () => {
    const tsc = join(repo, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', 'tsconfig.json'], { cwd: dir }).catch((error: { stdout: string }) => error);
    expect(result.stdout).to.equal('');
  });

  for (const program of programs) {
    it(`runs the example at README.md line ${program.line}`, async () => {
      const { stdout, stderr, error } = await results.get(program.name)!;
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
