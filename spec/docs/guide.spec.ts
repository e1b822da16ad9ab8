// Runs the code in docs/guide.md, so that it never rots. Each block's first line is
// `// <file> · <module system>`, and `· run: node <file>` (or `npx ts-node <file>`) for a program;
// the other blocks are modules the programs load. A program's `// → text` comments are its
// expected output lines, in order.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');
const guide = readFileSync(join(repo, 'docs', 'guide.md'), 'utf8');

interface Block {
  file: string;
  line: number;
  code: string;
  /** How the block runs, if it is a program. */
  command: 'node' | 'npx ts-node' | undefined;
  expected: string[];
}

const blocks: Block[] = [];
for (const match of guide.matchAll(/^```(js|ts)\n([\s\S]*?)^```$/gm)) {
  const code = match[2]!;
  const line = guide.slice(0, match.index).split('\n').length;
  const header = /^\/\/ (\S+) · [^\n]*?(?:· run: (node|npx ts-node) (\S+))?\n/.exec(code);
  if (header === null)
    throw new Error(`docs/guide.md line ${line}: a block must start with "// <file> · <module system>"`);
  const [, file, command, runs] = header;
  if (runs !== undefined && runs !== file) throw new Error(`docs/guide.md line ${line}: runs ${runs}, not ${file}`);
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((found) => found[1]!);
  blocks.push({ file: file!, line, code, command: command as Block['command'], expected });
}

describe('docs/guide.md', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-docs-guide-'));
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
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions, include: ['*.ts'], 'ts-node': { transpileOnly: true } }),
    );
    for (const block of blocks) writeFileSync(join(dir, block.file), block.code);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has programs, modules in every module system, and type-checks its TypeScript', async () => {
    expect(blocks.filter((block) => block.command !== undefined).length).to.be.greaterThan(6);
    expect(new Set(blocks.map((block) => block.file.split('.').pop()))).to.deep.equal(new Set(['mjs', 'cjs', 'ts']));
    const tsc = join(repo, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', 'tsconfig.json'], { cwd: dir }).catch((error: { stdout: string }) => error);
    expect(result.stdout).to.equal('');
  });

  for (const block of blocks.filter((found) => found.command !== undefined)) {
    it(`runs ${block.file} (docs/guide.md line ${block.line}) as pasted`, async () => {
      const args = block.command === 'node' ? [block.file] : ['-r', 'ts-node/register', block.file];
      const { stdout, stderr } = await run(process.execPath, args, { cwd: dir });
      expect(stderr).to.equal('');
      const lines = stdout.split('\n');
      let at = 0;
      for (const expected of block.expected) {
        const found = lines.indexOf(expected, at);
        expect(found, `"${expected}" in:\n${stdout}`).to.be.greaterThanOrEqual(0);
        at = found + 1;
      }
    });
  }
});
