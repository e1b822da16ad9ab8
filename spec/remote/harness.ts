// A real redis-server on a free loopback port, and worker processes serving the fixture tasks.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** The redis-server binary, or undefined when this machine has none. */
export function redisServerBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * For a `describe` of remote specs: without redis-server they are pending with a one-line reason,
 * unless RXTHREADS_REQUIRE_REDIS=1 (CI), where a missing server fails them.
 */
export function requireRedis(context: Mocha.Context): string {
  const binary = redisServerBinary();
  if (binary !== undefined) return binary;
  if (process.env.RXTHREADS_REQUIRE_REDIS === '1') {
    throw new Error('redis-server not found on PATH, and RXTHREADS_REQUIRE_REDIS=1 requires it');
  }
  console.log('    remote specs pending: no redis-server on PATH (apt-get install redis-server)');
  context.skip();
  return '';
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A redis-server of its own for a spec file: loopback only, nothing saved to disk. */
export class RedisServer {
  private child: ChildProcess | undefined;
  port = 0;

  constructor(private readonly binary: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn(
      this.binary,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    const deadline = Date.now() + 10_000;
    while (!/Ready to accept connections/.test(output)) {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${output}`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  /**
   * Freezes the server (SIGSTOP): its connections stay open but nothing is answered, as with a
   * network partition or a hung Redis. `resume` lets it go on.
   */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** A plain client, for looking into Redis; closed by `close`. */
  client(): Redis {
    const client = new Redis(this.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    return client;
  }
}

const workerScript = join(__dirname, 'fixtures', 'worker.cjs');

/** A worker process serving fixtures/tasks.cjs. */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdout!.on('data', (chunk) => {
      this.output += chunk;
    });
    child.stderr!.on('data', (chunk) => {
      this.output += chunk;
    });
  }

  static async start(url: string, queue: string, script = workerScript, args: string[] = []): Promise<WorkerProcess> {
    const child = spawn(process.execPath, [script, ...(args.length > 0 ? args : [url, queue])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new WorkerProcess(child);
    await worker.waitFor(/ready|serving/);
    return worker;
  }

  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.child.exitCode !== null) throw new Error(`worker exited (${this.child.exitCode}): ${this.output}`);
      if (Date.now() > deadline) throw new Error(`worker did not print ${pattern}: ${this.output}`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Lines of a log file written by the `watch` task, parsed. */
export function readWatchLog(file: string): { kind: string; id: number; pid: number; at: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [kind, id, pid, at] = line.split(' ');
      return { kind: kind!, id: Number(id), pid: Number(pid), at: Number(at) };
    });
}

/**
 * Polls `check` until it returns true. Only for what happens in another process, where shared
 * memory cannot reach: a log file, Redis.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The keys BullMQ holds for jobs of `queue` (job hashes, locks, lists and sets that are not empty). */
export async function jobKeys(redis: Redis, queue: string): Promise<string[]> {
  const keys = await redis.keys(`bull:${queue}:*`);
  const left: string[] = [];
  for (const key of keys) {
    // Queue-wide bookkeeping that outlives any one run: event log, meta data, id counter, wake-up marker.
    if (/:(events|meta|id|marker|stalled-check)$/.test(key)) continue;
    if (key.includes(':rxthreads:live:')) continue; // an open RemotePool's, deleted when it closes
    left.push(key);
  }
  return left.sort();
}
