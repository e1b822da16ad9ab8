import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { EMPTY, lastValueFrom, map, type Observable, of, range, Subject, take, toArray } from 'rxjs';
import {
  EventLoopThread,
  inThread,
  offloadFrom,
  offloadToThread,
  runOnLoop,
  SerializationError,
  TaskError,
  ThreadPool,
  TimeoutError,
} from 'rxthreads';
import { RemotePool, remoteTask } from 'rxthreads/remote';
import { grace } from '../helpers';
import { jobKeys, RedisServer, readWatchLog, requireRedis, until, WorkerProcess } from './harness';

const square = remoteTask<number, number>('square');
const queue = 'spec';

describe('RemotePool over BullMQ', function () {
  this.timeout(30_000);
  let redis: RedisServer | undefined;
  let client: Redis | undefined;
  let workers: WorkerProcess[] = [];
  let remote: RemotePool;
  let dir: string;

  before(async function () {
    redis = new RedisServer(requireRedis(this));
    await redis.start();
    client = redis.client();
    workers = await Promise.all([WorkerProcess.start(redis.url, queue), WorkerProcess.start(redis.url, queue)]);
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-remote-'));
  });

  after(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    client?.disconnect();
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    // A worker removes a job only after it has published the job's outcome, so the last jobs of the
    // spec before may still be in Redis: each spec starts from a queue without any, and what it
    // finds in Redis is its own.
    await until(async () => (await jobKeys(client!, queue)).length === 0, 'earlier specs’ jobs removed', 5_000);
    remote = new RemotePool({ queue, connection: redis!.url, size: 64 });
  });

  afterEach(async () => {
    await remote.terminate();
  });

  it('emits 10,000 results in source order, each exactly once, from both workers', async () => {
    const tagged = remoteTask<number, [number, number]>('tagged');
    const results = await lastValueFrom(range(0, 10_000).pipe(offloadToThread(tagged, { pool: remote }), toArray()));
    expect(results.map(([value]) => value)).to.deep.equal(Array.from({ length: 10_000 }, (_, i) => i * i));
    expect(new Set(results.map(([, pid]) => pid))).to.deep.equal(new Set(workers.map((w) => w.child.pid)));
    expect(remote.stats()).to.include({ completed: 10_000, failed: 0, inFlight: 0, queued: 0 });
  });

  it('emits 10,000 results in completion order with ordered: false, each exactly once', async () => {
    const results = await lastValueFrom(
      range(0, 10_000).pipe(offloadToThread(square, { pool: remote, ordered: false }), toArray()),
    );
    expect(results).to.have.length(10_000);
    expect([...results].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 10_000 }, (_, i) => i * i));
  });

  it('runs several subscriptions on one pool at once, each exactly once and in its own order', async () => {
    const echo = remoteTask<string, string>('echo');
    const runs = ['a', 'b', 'c'].map((tag) =>
      lastValueFrom(
        range(0, 500).pipe(
          map((i) => `${tag}${i}`),
          offloadToThread(echo, { pool: remote, concurrency: 32 }),
          toArray(),
        ),
      ),
    );
    const results = await Promise.all(runs);
    for (const [k, tag] of ['a', 'b', 'c'].entries()) {
      expect(results[k]).to.deep.equal(Array.from({ length: 500 }, (_, i) => `${tag}${i}`));
    }
  });

  it('sends lone values one after another with nothing but their jobs: the live key is set once, and each worker checks it once, not before each', async () => {
    const monitor = await client!.monitor(); // a connection of its own, closed below
    const liveSets: string[] = [];
    const liveChecks: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const command = args[0]?.toLowerCase();
      if (command === 'set' && args[1]?.includes(':rxthreads:live:')) liveSets.push(args[1]);
      // Not the reply script's own EXISTS (MONITOR lists a script's commands with the source 'lua').
      if (command === 'exists' && args[1]?.includes(':rxthreads:live:') && source !== 'lua') liveChecks.push(args[1]);
    });
    const input = new Subject<number>();
    const results: number[] = [];
    let next: (value: number) => void = () => {};
    const subscription = input.pipe(offloadToThread(square, { pool: remote })).subscribe((value) => {
      results.push(value);
      next(value);
    });
    try {
      for (let x = 0; x < 20; x++) {
        const result = new Promise((resolve) => {
          next = resolve;
        });
        input.next(x);
        await result;
      }
      expect(results).to.deep.equal(Array.from({ length: 20 }, (_, x) => x * x));
      expect(liveSets).to.have.length(1);
      expect(liveChecks.length).to.be.within(1, workers.length);
    } finally {
      subscription.unsubscribe();
      monitor.disconnect();
    }
  });

  it('runs an offloadFrom iterable on the workers', async () => {
    const results = await lastValueFrom(offloadFrom([1, 2, 3], square, { pool: remote }).pipe(toArray()));
    expect(results).to.deep.equal([1, 4, 9]);
  });

  it('completes at once for an empty source', async () => {
    expect(await lastValueFrom(EMPTY.pipe(offloadToThread(square, { pool: remote }), toArray()))).to.deep.equal([]);
  });

  it('carries structured clones both ways: Map, Date, BigInt, typed arrays, nested objects', async () => {
    const echo = remoteTask<unknown, unknown>('echo');
    const sent = [
      new Map([[1, { a: [1, 2] }]]),
      new Date(0),
      10n,
      new Uint8Array([1, 2]),
      { deep: { set: new Set([1]) } },
    ];
    const results = await lastValueFrom(of(...sent).pipe(offloadToThread(echo, { pool: remote }), toArray()));
    expect(results).to.deep.equal(sent);
  });

  it('forwards a source error after cancelling the work in flight', async () => {
    const log = join(dir, 'source-error.log');
    const watch = remoteTask<{ log: string; id: number }, never>('watch');
    const source = new Subject<{ log: string; id: number }>();
    const failed = lastValueFrom(source.pipe(offloadToThread(watch, { pool: remote }))).catch((e: unknown) => e);
    source.next({ log, id: 1 });
    await until(() => readWatchLog(log).length === 1, 'the task to start');
    source.error(new Error('boom'));
    expect(await failed).to.have.property('message', 'boom');
    await until(() => readWatchLog(log).some((line) => line.kind === 'abort'), 'its abort');
  });

  it('fails with TaskError carrying the original error as cause', async () => {
    const error = await lastValueFrom(of(7).pipe(offloadToThread(remoteTask('fail'), { pool: remote }))).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TaskError);
    const { message, cause } = error as TaskError;
    expect(message).to.equal('bad 7');
    expect(cause).to.include({ name: 'RangeError', message: 'bad 7', code: 42 });
    expect(cause.stack).to.match(/tasks\.cjs/);
  });

  it('settle: emits one entry per input, fulfilled or rejected, and goes on', async () => {
    const results = await lastValueFrom(
      of(1, 2).pipe(offloadToThread(remoteTask<number, number>('fail'), { pool: remote, settle: true }), toArray()),
    );
    expect(results.map((entry) => [entry.status, entry.input])).to.deep.equal([
      ['rejected', 1],
      ['rejected', 2],
    ]);
    const squares = await lastValueFrom(of(3).pipe(offloadToThread(square, { pool: remote, settle: true }), toArray()));
    expect(squares).to.deep.equal([{ status: 'fulfilled', value: 9, input: 3 }]);
  });

  it('timeout: a task running longer on its remote thread fails with TimeoutError', async () => {
    const work = remoteTask<{ x: number; ms: number }, number>('work');
    const error = await lastValueFrom(
      of({ x: 1, ms: 5_000 }).pipe(offloadToThread(work, { pool: remote, timeout: 200 })),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TimeoutError);
    expect(error).to.have.property('timeout', 200);
  });

  it('signal: aborting it cancels the remote work and errors with AbortError', async () => {
    const log = join(dir, 'signal.log');
    const watch = remoteTask<{ log: string; id: number }, never>('watch');
    const controller = new AbortController();
    const failed = lastValueFrom(
      of({ log, id: 1 }).pipe(offloadToThread(watch, { pool: remote, signal: controller.signal })),
    ).catch((e: unknown) => e);
    await until(() => readWatchLog(log).length === 1, 'the task to start');
    controller.abort(new Error('enough'));
    const error = await failed;
    expect(error).to.have.property('name', 'AbortError');
    expect((error as Error).cause).to.have.property('message', 'enough');
    await until(() => readWatchLog(log).some((line) => line.kind === 'abort'), 'its abort in the remote thread');
  });

  it('fails a streaming (generator) task, which does not run remotely, with TaskError saying so', async () => {
    const error = await lastValueFrom(of(3).pipe(offloadToThread(remoteTask('countTo'), { pool: remote }))).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TaskError);
    expect((error as TaskError).cause).to.have.property('name', 'TypeError');
    expect((error as TaskError).message).to.match(/cannot run task 'countTo' remotely: .*generator/);
  });

  it('fails a job for a task the worker does not serve with TaskError naming the key, the queue and the tasks served', async () => {
    const error = await lastValueFrom(of(1).pipe(offloadToThread(remoteTask('sqaure'), { pool: remote }))).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TaskError);
    const served = Object.keys(require('./fixtures/tasks.cjs') as object)
      .sort()
      .join(', ');
    expect((error as TaskError).message).to.equal(
      `No task named "sqaure" is served on queue "${queue}"; this worker serves: ${served}`,
    );
  });

  it('fails an input that cannot be serialized with SerializationError before it reaches Redis', async () => {
    const error = await lastValueFrom(
      of<unknown>(() => 1).pipe(offloadToThread(remoteTask('square'), { pool: remote })),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SerializationError);
    expect((error as Error).cause).to.have.property('name', 'DataCloneError');
    expect(remote.stats().inFlight).to.equal(0);
    expect(await jobKeys(client!, queue)).to.deep.equal([]);
  });

  it('fails a result that cannot be serialized with SerializationError, and the worker goes on', async () => {
    const error = await lastValueFrom(of(1).pipe(offloadToThread(remoteTask('unclonable'), { pool: remote }))).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SerializationError);
    expect(await lastValueFrom(of(3).pipe(offloadToThread(square, { pool: remote })))).to.equal(9);
  });

  it('takes n results and cancels the rest', async () => {
    const results = await lastValueFrom(
      range(0, 1_000).pipe(offloadToThread(square, { pool: remote }), take(5), toArray()),
    );
    expect(results).to.deep.equal([0, 1, 4, 9, 16]);
  });

  it('on unsubscribe removes waiting jobs, aborts running tasks within 200 ms, and leaves nothing in Redis', async () => {
    const log = join(dir, 'unsubscribe.log');
    const watch = remoteTask<{ log: string; id: number }, never>('watch');
    // One input per job, so that each worker takes jobs (a worker takes up to 8 at once) and their
    // threads run some of the 40 tasks; the others wait, in Redis or on a worker.
    await remote.close();
    remote = new RemotePool({ queue, connection: redis!.url, batchSize: 1 });
    const subscription = range(0, 40)
      .pipe(
        map((id) => ({ log, id })),
        offloadToThread(watch, { pool: remote, concurrency: 40 }),
      )
      .subscribe({ error: () => {} });
    const linesOf = (kind: string) => readWatchLog(log).filter((line) => line.kind === kind);
    await until(() => linesOf('start').length >= 2, 'running tasks');
    const at = Date.now();
    subscription.unsubscribe();
    const running = linesOf('start').length;
    // Every task that started (also one starting as the cancel came) sees its signal.
    await until(() => linesOf('abort').length === linesOf('start').length, 'an abort for every start');
    for (const line of linesOf('abort')) expect(line.at - at).to.be.below(200);
    await until(async () => (await jobKeys(client!, queue)).length === 0, 'no job left in Redis', 5_000);
    await grace(); // no waiting job starts later
    // At most one task per worker may have been starting in the instant the cancel came.
    expect(linesOf('start').length).to.be.at.most(running + 2);
    expect(linesOf('start').length).to.equal(linesOf('abort').length);
    expect(remote.stats()).to.include({ inFlight: 0, queued: 0 });
  });

  it('on unsubscribe turns ctx.aborted true within 200 ms for a synchronous loop in the remote thread', async () => {
    const log = join(dir, 'aborted.log');
    const spin = remoteTask<{ log: string; id: number }, never>('spinUntilAborted');
    const subscription = of({ log, id: 1 })
      .pipe(offloadToThread(spin, { pool: remote }))
      .subscribe({ error: () => {} });
    await until(() => readWatchLog(log).length === 1, 'the task to start');
    const at = Date.now();
    subscription.unsubscribe();
    await until(() => readWatchLog(log).length === 2, 'its abort');
    expect(readWatchLog(log)[1]!.at - at).to.be.below(200);
  });

  it('replaces the remote thread of a cancelled task that ignores its signal, after cancelGraceMs', async () => {
    const log = join(dir, 'stubborn.log');
    const stubborn = remoteTask<{ log: string; id: number; ms: number }, number>('logged');
    // Tasks that block their threads for 30 s: every thread of both workers (16 jobs, as one
    // worker takes up to 8 at once).
    await remote.close();
    remote = new RemotePool({ queue, connection: redis!.url, batchSize: 1 });
    const subscription = range(0, 16)
      .pipe(
        map((id) => ({ log, id, ms: 30_000 })),
        offloadToThread(stubborn, { pool: remote }),
      )
      .subscribe({ error: () => {} });
    await until(() => readWatchLog(log).length === 4, 'four blocked threads');
    subscription.unsubscribe();
    // Only new threads can run these before the blocked ones would have finished.
    const results = await lastValueFrom(range(0, 8).pipe(offloadToThread(square, { pool: remote }), toArray()));
    expect(results).to.deep.equal([0, 1, 4, 9, 16, 25, 36, 49]);
  });

  it('keeps running a never-ending source until unsubscribed', async () => {
    const source = new Subject<number>();
    const seen: number[] = [];
    const subscription = source.pipe(offloadToThread(square, { pool: remote })).subscribe((x) => seen.push(x));
    source.next(2);
    source.next(3);
    await until(() => seen.length === 2, 'two results');
    subscription.unsubscribe();
    expect(seen).to.deep.equal([4, 9]);
  });

  it('is a TypeError to run a remoteTask anywhere but on a RemotePool, or a local task on one', async () => {
    const pool = new ThreadPool({ size: 1 });
    const loop = new EventLoopThread();
    try {
      expect(() => offloadToThread(square)).to.throw(TypeError, /RemotePool/);
      expect(() => offloadToThread(square, { pool })).to.throw(TypeError, /RemotePool/);
      expect(() => runOnLoop(loop, square)).to.throw(TypeError, /RemotePool/);
      expect(() => pool.run(square, 1)).to.throw(TypeError, /RemotePool/);
      expect(() => loop.submit(square, 1)).to.throw(TypeError, /RemotePool/);
      expect(() => inThread(remoteTask<Observable<number>, Observable<number>>('stage'))).to.throw(
        TypeError,
        /RemotePool/,
      );
      expect(() => offloadToThread((x: number) => x, { pool: remote })).to.throw(TypeError, /remoteTask/);
      expect(() => remoteTask('')).to.throw(TypeError, /`name`/);
    } finally {
      await Promise.all([pool.close(), loop.close()]);
    }
  });

  it('leaves no key of its own in Redis once closed, even with cancelled jobs still running then', async () => {
    const work = remoteTask<{ x: number; ms: number }, number>('work');
    const results = await lastValueFrom(
      range(0, 100).pipe(
        map((x) => ({ x, ms: 20 })),
        offloadToThread(work, { pool: remote }),
        take(3),
        toArray(),
      ),
    );
    expect(results).to.deep.equal([0, 2, 4]);
    await remote.close();
    await until(async () => (await jobKeys(client!, queue)).length === 0, 'no job left in Redis', 5_000);
    expect(await client!.keys(`bull:${queue}:rxthreads:*`)).to.deep.equal([]);
  });

  it('rejects jobs after close with ClosedError and is done once closed', async () => {
    await remote.close();
    const error = await lastValueFrom(of(1).pipe(offloadToThread(square, { pool: remote }))).catch((e: unknown) => e);
    expect(error).to.have.property('name', 'ClosedError');
    await remote.done;
  });
});
