// A pool dropped without close() keeps its threads until the process exits: rxthreads says so once.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const dist = join(__dirname, '..', '..', 'dist', 'index.js');

/** Runs `body` in a child process with --expose-gc; returns its stderr (warnings). */
async function child(body: string): Promise<string> {
  const script = `
const { ThreadPool, EventLoopThread } = require(${JSON.stringify(dist)});
const collect = async () => {
  for (let i = 0; i < 10; i++) {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};
(async () => { ${body} })().catch((error) => { console.error(error); process.exitCode = 1; });
`;
  const { stderr } = await run(process.execPath, ['--expose-gc', '-e', script], { timeout: 20_000 });
  return stderr;
}

describe('a pool garbage-collected without close()', function () {
  this.timeout(30_000);

  it('emits one RxthreadsWarning per process, however many pools leak', async () => {
    const stderr = await child(`
      for (let i = 0; i < 3; i++) await new ThreadPool({ size: 2 }).run((x) => x, i);
      await new EventLoopThread().submit((x) => x, 1);
      await collect();
    `);
    const warnings = stderr.split('\n').filter((line) => line.includes('RxthreadsWarning'));
    expect(warnings, stderr).to.have.length(1);
    expect(warnings[0]).to.match(
      /(ThreadPool with 2|EventLoopThread with 1) live thread\(s\) was garbage-collected without close\(\)/,
    );
  });

  it('stays silent for pools that were closed, or are still referenced', async () => {
    const stderr = await child(`
      const kept = new ThreadPool({ size: 1 });
      await kept.run((x) => x, 1);
      for (let i = 0; i < 3; i++) {
        const pool = new ThreadPool({ size: 1 });
        await pool.run((x) => x, i);
        await pool.close();
      }
      await collect();
      await kept.close();
    `);
    expect(stderr).to.equal('');
  });
});
