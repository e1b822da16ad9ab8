// Runs the example of docs/remote.md against a real Redis: its tasks module is served by the
// rxthreads-worker CLI as the docs start it, and its caller program must print what it says.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { RedisServer, requireRedis, WorkerProcess } from './harness';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');
const doc = readFileSync(join(repo, 'docs', 'remote.md'), 'utf8');
const blocks = [...doc.matchAll(/^```(ts|js|sh)\n([\s\S]*?)^```$/gm)].map((match) => ({
  lang: match[1]!,
  code: match[2]!,
}));

describe('docs/remote.md', function () {
  this.timeout(30_000);
  let redis: RedisServer | undefined;
  let worker: WorkerProcess | undefined;
  let dir: string | undefined;

  before(async function () {
    redis = new RedisServer(requireRedis(this));
    await redis.start();
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-docs-remote-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repo, join(dir, 'node_modules', 'rxthreads'));
    for (const name of ['rxjs', '@types', 'ts-node', 'bullmq', 'ioredis']) {
      symlinkSync(join(repo, 'node_modules', name), join(dir, 'node_modules', name));
    }
    const compilerOptions = { target: 'ES2022', module: 'nodenext', types: ['node'], strict: true, skipLibCheck: true };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }));
  });

  after(async () => {
    await worker?.stop();
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('runs its example: a tasks module served by rxthreads-worker, and the caller', async () => {
    const tasks = blocks.find((block) => block.lang === 'js' && block.code.startsWith('// file: tasks.cjs\n'));
    const caller = blocks.find((block) => block.lang === 'ts' && block.code.includes("from 'rxthreads/remote'"));
    const start = blocks.find((block) => block.lang === 'sh' && block.code.includes('npx rxthreads-worker'));
    expect(tasks && caller && start, 'the tasks module, the caller and the worker command').to.not.equal(undefined);
    writeFileSync(join(dir!, 'tasks.cjs'), tasks!.code);
    // The command as written, with this spec's Redis; `npx rxthreads-worker` runs the package's bin.
    const args = /npx rxthreads-worker (.*)$/m
      .exec(start!.code)![1]!
      .replace('redis://127.0.0.1:6379', redis!.url)
      .replace('./tasks.cjs', join(dir!, 'tasks.cjs'))
      .split(' ');
    worker = await WorkerProcess.start(redis!.url, '', join(repo, 'dist', 'bin', 'rxthreads-worker.js'), args);
    // Top-level await, as the docs write it, runs inside an async function here.
    const lines = caller!.code.split('\n');
    const imports = lines.filter((line) => line.startsWith('import '));
    const body = lines.filter((line) => !line.startsWith('import '));
    writeFileSync(join(dir!, 'caller.ts'), `${imports.join('\n')}\n(async () => {\n${body.join('\n')}\n})();\n`);
    const { stdout } = await run(process.execPath, ['-r', 'ts-node/register', 'caller.ts'], {
      cwd: dir,
      env: { ...process.env, REDIS_URL: redis!.url },
      timeout: 20_000,
    });
    const expected = [...caller!.code.matchAll(/\/\/ → (.*)$/gm)].map((found) => found[1]);
    expect(stdout.trim().split('\n')).to.deep.equal(expected);
  });
});
