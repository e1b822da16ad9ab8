// A .ts task module named as .js (the TypeScript convention) in a process that runs no TypeScript
// runtime of its own, as under jest or vitest: threads load it with the project's tsx, or fail
// with an error naming both paths and the fix.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { fixture } from '../helpers';

const root = join(__dirname, '..', '..');
const script = (asJs: string) => `
  const { moduleTask, ThreadPool } = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
  const pool = new ThreadPool({ size: 1 });
  pool.run(moduleTask(${JSON.stringify(asJs)}), 4)
    .then((v) => console.log('result', v), (e) => console.log('error', e.message))
    .finally(() => pool.terminate());
`;

describe('TypeScript task modules named as .js, without a TypeScript runtime in the process', function () {
  this.timeout(30_000);
  const asJs = fixture('ts-names/source.ts').replace(/\.ts$/, '.js');

  it("runs one with the project's tsx when the project installs it", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script(asJs)], { cwd: root });
    expect(stdout).to.equal('result source 4\n');
  });

  it('fails with an error naming the .js asked for, the .ts found and the fix when nothing can load it', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'rxthreads-no-tsx-'));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script(asJs)], { cwd: elsewhere });
      expect(stdout).to.include(asJs);
      expect(stdout).to.include(asJs.replace(/\.js$/, '.ts'));
      expect(stdout).to.match(/install tsx in the project/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
