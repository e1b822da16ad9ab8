// `npx ts-node examples/remote-demo.ts [folder] [--limit N] [--redis URL]`: the demo's pipeline
// (read, gzip and SHA-256 every file) on two worker processes through Redis, with rxthreads/remote.
// Without --redis it starts a redis-server of its own on a free loopback port, and stops it after.
// The workers read the files themselves: here they share this machine's disk; across machines,
// they would need the same paths (a shared volume), or the caller would send the bytes.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { from, lastValueFrom, reduce } from 'rxjs';
import { offloadToThread } from 'rxthreads';
import { RemotePool, remoteTask } from 'rxthreads/remote';
import { type Hashed, listFiles } from './demo/run';

export interface RemoteDemoReport {
  files: number;
  bytes: number;
  gzipped: number;
  unreadable: number;
  ms: number;
  workers: number;
}

/** A redis-server on a free loopback port that keeps nothing on disk. */
async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  child.once('error', () => {}); // no redis-server: the exit below reports it
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  while (!output.includes('Ready to accept connections')) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error('redis-server did not start: install it (apt-get install redis-server) or pass --redis URL');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** Starts an `rxthreads-worker` process serving examples/tasks/remote-demo.cjs; resolves once it serves. */
async function startWorker(url: string, queue: string): Promise<ChildProcess> {
  const bin = join(__dirname, '..', 'dist', 'bin', 'rxthreads-worker.js');
  const tasks = join(__dirname, 'tasks', 'remote-demo.cjs');
  const child = spawn(process.execPath, [bin, '--queue', queue, '--redis', url, '--tasks', tasks, '--threads', '1'], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  while (!output.includes('serving')) {
    if (child.exitCode !== null) throw new Error(`rxthreads-worker exited: ${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

/** Hashes the first `limit` files under `root` on two worker processes; returns the totals. */
export async function runRemoteDemo(root: string, limit = 2_000, redisUrl?: string): Promise<RemoteDemoReport> {
  const redis = redisUrl === undefined ? await startRedis() : undefined;
  const url = redisUrl ?? redis!.url;
  const queue = 'rxthreads-demo';
  const workers: ChildProcess[] = [];
  try {
    workers.push(...(await Promise.all([startWorker(url, queue), startWorker(url, queue)])));
    const files = (await listFiles(root)).slice(0, limit);
    const remote = new RemotePool({ queue, connection: url });
    const started = Date.now();
    const totals = await lastValueFrom(
      from(files).pipe(
        offloadToThread(remoteTask<string, Hashed>('processFile'), { pool: remote, ordered: false, concurrency: 32 }),
        reduce(
          (sum, file) => ({
            files: sum.files + 1,
            bytes: sum.bytes + file.bytes,
            gzipped: sum.gzipped + file.gzipped,
            unreadable: sum.unreadable + (file.unreadable === undefined ? 0 : 1),
          }),
          { files: 0, bytes: 0, gzipped: 0, unreadable: 0 },
        ),
      ),
    );
    const ms = Date.now() - started;
    await remote.close();
    return { ...totals, ms, workers: workers.length };
  } finally {
    await Promise.all(workers.map(stop));
    await redis?.stop();
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at < 0 ? undefined : argv.splice(at, 2)[1];
  };
  const limit = Number(option('--limit') ?? 2_000);
  const redisUrl = option('--redis');
  const root = resolve(argv[0] ?? join(__dirname, '..', 'node_modules'));
  runRemoteDemo(root, limit, redisUrl).then(
    (report) => {
      const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
      console.log(
        `${report.files} files (${mb(report.bytes)}, gzipped ${mb(report.gzipped)}) hashed by ${report.workers} worker processes through Redis in ${(report.ms / 1000).toFixed(2)} s`,
      );
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
