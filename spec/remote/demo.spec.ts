import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { runRemoteDemo } from '../../examples/remote-demo';
import { RedisServer, requireRedis } from './harness';

describe('examples/remote-demo', function () {
  this.timeout(30_000);
  let redis: RedisServer | undefined;
  let dir: string | undefined;

  before(async function () {
    redis = new RedisServer(requireRedis(this));
    await redis.start();
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-remote-demo-'));
  });

  after(async () => {
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('hashes every file on two rxthreads-worker processes, with the totals of the files', async () => {
    const contents = Array.from({ length: 20 }, (_, i) => Buffer.from(`file ${i} `.repeat(100 * (i + 1))));
    for (const [i, content] of contents.entries()) writeFileSync(join(dir!, `f${i}.txt`), content);
    const report = await runRemoteDemo(dir!, 100, redis!.url);
    expect(report).to.include({
      files: 20,
      workers: 2,
      unreadable: 0,
      bytes: contents.reduce((sum, content) => sum + content.byteLength, 0),
      gzipped: contents.reduce((sum, content) => sum + gzipSync(content).byteLength, 0),
    });
  });
});
