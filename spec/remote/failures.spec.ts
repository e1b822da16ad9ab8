import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { lastValueFrom, map, of, range, tap, toArray } from 'rxjs';
import { offloadToThread, WorkerCrashedError } from 'rxthreads';
import { RemoteConnectionError, RemotePool, remoteTask } from 'rxthreads/remote';
import { RedisServer, readWatchLog, requireRedis, until, WorkerProcess } from './harness';

const run = promisify(execFile);
const work = remoteTask<{ x: number; ms: number }, number>('work');
const square = remoteTask<number, number>('square');

describe('RemotePool when workers or Redis fail', function () {
  this.timeout(30_000);
  let redis: RedisServer | undefined;
  let workers: WorkerProcess[] = [];
  let remote: RemotePool | undefined;
  let dir: string;
  let queue = 'failures';
  let queues = 0;

  before(async function () {
    redis = new RedisServer(requireRedis(this));
    await redis.start();
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-remote-'));
  });

  beforeEach(async () => {
    // A queue per spec, so that a job left over by one (a worker killed mid-job) never reaches the next.
    queue = `failures${queues++}`;
    workers = await Promise.all([WorkerProcess.start(redis!.url, queue), WorkerProcess.start(redis!.url, queue)]);
  });

  afterEach(async () => {
    await remote?.terminate();
    remote = undefined;
    await Promise.all(workers.map((worker) => worker.stop()));
  });

  after(async () => {
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the jobs of a worker killed mid-run (kill -9) on the other, emitting each input exactly once', async () => {
    remote = new RemotePool({ queue, connection: redis!.url, size: 16 });
    const [victim] = workers;
    let seen = 0;
    const results = await lastValueFrom(
      range(0, 300).pipe(
        map((x) => ({ x, ms: 10 })),
        offloadToThread(work, { pool: remote }),
        tap(() => {
          if (++seen === 50) victim!.child.kill('SIGKILL');
        }),
        toArray(),
      ),
    );
    expect(await victim!.exited).to.equal(null); // killed, not exited
    expect(results).to.deep.equal(Array.from({ length: 300 }, (_, i) => i * 2));
  });

  it('fails with WorkerCrashedError a job whose workers died more often than attempts allows', async () => {
    remote = new RemotePool({ queue, connection: redis!.url, attempts: 1 });
    const error = await lastValueFrom(
      range(0, 1).pipe(offloadToThread(remoteTask('killWorker'), { pool: remote })),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkerCrashedError);
    expect((error as Error).message).to.match(/ran 1 time \(attempts\)/);
  });

  it('errors the stream with RemoteConnectionError when Redis restarts mid-run, and works again after', async () => {
    remote = new RemotePool({ queue, connection: redis!.url });
    let seen = 0;
    const failed = lastValueFrom(
      range(0, 10_000).pipe(
        map((x) => ({ x, ms: 5 })),
        offloadToThread(work, { pool: remote }),
        tap(() => {
          if (++seen === 20) void redis!.stop();
        }),
      ),
    ).catch((e: unknown) => e);
    const error = await failed;
    expect(error).to.be.instanceOf(RemoteConnectionError);
    expect((error as Error).message).to.match(/Lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+/);
    await redis!.start();
    const results = await lastValueFrom(range(1, 3).pipe(offloadToThread(square, { pool: remote }), toArray()));
    expect(results).to.deep.equal([1, 4, 9]);
  });

  it('fails within connectTimeout with RemoteConnectionError when Redis is unreachable, and closes at once', async () => {
    const stopped = new RedisServer(requireRedis(this as unknown as Mocha.Context));
    await stopped.start(); // takes a free port, then frees it again
    await stopped.stop();
    remote = new RemotePool({ queue, connection: stopped.url, connectTimeout: 1_000 });
    const started = Date.now();
    const error = await lastValueFrom(range(0, 3).pipe(offloadToThread(square, { pool: remote }))).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(RemoteConnectionError);
    expect((error as Error).message).to.match(/Could not connect to Redis at .* within 1000 ms/);
    expect(Date.now() - started).to.be.below(3_000);
    await remote.close();
  });

  it('bounds close() by closeGraceMs while Redis is down, and lets the process exit by itself', async () => {
    // Stopped Redis: ioredis retries each command 20 times over about 73 s before it fails it, and
    // close() used to wait for the cancels and the clean-up of its keys that way, one after the other.
    const child = await WorkerProcess.start(redis!.url, queue, join(__dirname, 'fixtures', 'close-while-down.cjs'), [
      redis!.url,
      queue,
      '500',
    ]);
    workers.push(child);
    await redis!.stop();
    try {
      child.child.kill('SIGUSR2');
      expect(await child.exited, child.output).to.equal(0);
      const { ended, close, exit } = JSON.parse(child.output.trim().split('\n').at(-1)!);
      expect(ended).to.match(/^RemoteConnectionError: .*Redis at redis:\/\/127\.0\.0\.1:\d+/);
      expect(close, 'ms to close').to.be.below(500 + 1_000);
      expect(exit, 'ms from closed to exited').to.be.below(1_000);
    } finally {
      await redis!.start();
    }
  });

  it('bounds close() by closeGraceMs while Redis does not answer, and fails the inputs left in flight saying how many', async () => {
    const log = join(dir, 'paused.log');
    const watch = remoteTask<{ log: string; id: number }, never>('watch');
    remote = new RemotePool({ queue, connection: redis!.url, batchSize: 1, closeGraceMs: 300 });
    const failed = lastValueFrom(
      range(0, 3).pipe(
        map((id) => ({ log, id })),
        offloadToThread(watch, { pool: remote }),
      ),
    ).catch((e: unknown) => e);
    await until(() => readWatchLog(log).length === 3, 'three tasks running on the workers');
    redis!.pause();
    try {
      const started = Date.now();
      await remote.close();
      const elapsed = Date.now() - started;
      const error = await failed;
      expect(error).to.be.instanceOf(RemoteConnectionError);
      expect((error as Error).message).to.match(
        /^Could not reach Redis at redis:\/\/127\.0\.0\.1:\d+ within closeGraceMs \(300 ms\) while the pool closed: abandoned 3 inputs in flight \(BullMQ jobs \w+-0, \w+-1, \w+-2\); a worker may still run them$/,
      );
      expect(elapsed, 'ms to close').to.be.within(300, 1_500);
      expect(remote.stats()).to.include({ inFlight: 0, queued: 0 });
      await remote.done;
    } finally {
      redis!.resume();
    }
  });

  it("a task server's terminate() puts its running job back for another worker and does not take it again itself", async () => {
    const served = `${queue}-terminate`;
    const log = join(dir, `${served}.log`);
    const server = await WorkerProcess.start(redis!.url, served, join(__dirname, 'fixtures', 'serve-while-down.cjs'), [
      redis!.url,
      served,
      'terminate',
    ]);
    workers.push(server);
    remote = new RemotePool({ queue: served, connection: redis!.url });
    const watch = remoteTask<{ log: string; id: number }, never>('watch');
    void lastValueFrom(of({ log, id: 0 }).pipe(offloadToThread(watch, { pool: remote }))).catch(() => {});
    await until(() => readWatchLog(log).length === 1, 'the job to start on the task server');
    server.child.kill('SIGUSR2');
    // The job aborted went back to the queue; a server that took it again would wait for it (it
    // runs until aborted) and never end.
    const exited = await Promise.race([server.exited, sleep(10_000, 'still running after 10 s', { ref: false })]);
    expect(exited, server.output).to.equal(0);
    const here = readWatchLog(log).filter((line) => line.kind === 'start' && line.pid === server.child.pid);
    expect(here, 'starts on the terminated server').to.have.length(1);
    const { close, running } = JSON.parse(server.output.trim().split('\n').at(-1)!);
    expect(close, 'ms to terminate()').to.be.below(2_000);
    expect(running).to.equal(0);
  });

  for (const [how, redisIs] of [
    ['close', 'frozen'],
    ['terminate', 'frozen'],
    ['close', 'down'],
  ] as const) {
    it(`bounds a task server's ${how}() by closeGraceMs while Redis is ${redisIs}, and lets the process exit by itself${redisIs === 'frozen' ? '; another worker runs the job again' : ''}`, async () => {
      // Frozen (SIGSTOP): ioredis still reports the connection ready, and BullMQ's close waits for
      // Redis. Down: nothing ever answers. The job (`watch`) runs until it is aborted, so a close
      // that waited for it, or for Redis, would never end.
      const served = `${queue}-server`;
      const log = join(dir, `${served}.log`);
      const server = await WorkerProcess.start(
        redis!.url,
        served,
        join(__dirname, 'fixtures', 'serve-while-down.cjs'),
        [redis!.url, served, how, '500'],
      );
      workers.push(server);
      remote = new RemotePool({ queue: served, connection: redis!.url, closeGraceMs: 300 });
      const watch = remoteTask<{ log: string; id: number }, never>('watch');
      void lastValueFrom(of({ log, id: 0 }).pipe(offloadToThread(watch, { pool: remote }))).catch(() => {});
      await until(() => readWatchLog(log).length === 1, 'the job to start on the task server');
      if (redisIs === 'frozen') redis!.pause();
      else await redis!.stop();
      try {
        server.child.kill('SIGUSR2');
        const exited = await Promise.race([server.exited, sleep(15_000, 'still running after 15 s', { ref: false })]);
        expect(exited, server.output).to.equal(0);
        const lines = server.output.trim().split('\n');
        expect(lines, 'nothing printed but ready and the timings: no uncaught error').to.have.length(2);
        const { close, done, running, exit } = JSON.parse(lines[1]!);
        expect(close, `ms to ${how}()`).to.be.below(500 + 1_000);
        expect(done - close, 'ms from closed to done').to.be.below(100);
        expect(running, 'jobs still running once done').to.equal(0);
        // With Redis down, BullMQ's worker keeps a timer of its own (drainDelay + 1 s: 6 s) for the
        // blocking command it had sent, which its close leaves pending on a reconnecting client.
        expect(exit, 'ms from done to exited').to.be.below(redisIs === 'down' ? 7_000 : 1_000);
      } finally {
        if (redisIs === 'frozen') redis!.resume();
        else await redis!.start();
      }
      if (redisIs === 'frozen') {
        // The job it gave up is not lost: another worker runs it again (once its lock has expired).
        workers.push(await WorkerProcess.start(redis!.url, served));
        const starts = () => readWatchLog(log).filter((line) => line.kind === 'start');
        await until(() => starts().length === 2, 'the job to run again on another worker');
        expect(starts()[1]!.pid).to.equal(workers.at(-1)!.child.pid);
      }
    });
  }

  it('lets a process exit by itself once its RemotePool and task server are closed', async () => {
    const { stdout } = await run(process.execPath, [join(__dirname, 'fixtures', 'exits.cjs'), redis!.url], {
      timeout: 15_000,
    });
    expect(stdout.trim()).to.equal('result 9');
  });

  it('rxthreads-worker finishes its running job on SIGTERM, then exits 0', async () => {
    const log = join(dir, 'sigterm.log');
    const cli = await WorkerProcess.start(
      redis!.url,
      queue,
      join(__dirname, '..', '..', 'dist', 'bin', 'rxthreads-worker.js'),
      [
        '--queue',
        `${queue}-cli`,
        '--redis',
        redis!.url,
        '--tasks',
        join(__dirname, 'fixtures', 'tasks-map.cjs'),
        '--threads',
        '1',
      ],
    );
    workers.push(cli);
    remote = new RemotePool({ queue: `${queue}-cli`, connection: redis!.url });
    const result = lastValueFrom(
      range(0, 1).pipe(
        map((id) => ({ log, id, ms: 300 })),
        offloadToThread(remoteTask<{ log: string; id: number; ms: number }, number>('logged'), { pool: remote }),
      ),
    );
    await until(() => readWatchLog(log).length === 1, 'the job to start');
    cli.child.kill('SIGTERM');
    expect(await result).to.equal(0);
    expect(await cli.exited).to.equal(0);
  });

  it('rxthreads-worker puts a job still running after --grace back in the queue, where another worker runs it', async () => {
    const log = join(dir, 'grace.log');
    const cli = await WorkerProcess.start(
      redis!.url,
      queue,
      join(__dirname, '..', '..', 'dist', 'bin', 'rxthreads-worker.js'),
      [
        '--queue',
        queue,
        '--redis',
        redis!.url,
        '--tasks',
        join(__dirname, 'fixtures', 'tasks-map.cjs'),
        '--grace',
        '100',
      ],
    );
    // The CLI worker must take the job: the two fixture workers stop first.
    await Promise.all(workers.map((worker) => worker.stop()));
    workers = [cli];
    remote = new RemotePool({ queue, connection: redis!.url });
    const result = lastValueFrom(
      range(7, 1).pipe(
        map((id) => ({ log, id, ms: 1_000 })),
        offloadToThread(remoteTask<{ log: string; id: number; ms: number }, number>('logged'), { pool: remote }),
      ),
    );
    await until(() => readWatchLog(log).length === 1, 'the job to start');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).to.equal(0);
    workers.push(await WorkerProcess.start(redis!.url, queue));
    expect(await result).to.equal(7);
    const starts = readWatchLog(log);
    expect(starts.map((line) => line.pid)).to.deep.equal([cli.child.pid, workers[1]!.child.pid]);
  });
});
