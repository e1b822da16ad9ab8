import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import {
  combineLatest,
  from,
  interval,
  lastValueFrom,
  map,
  Observable,
  of,
  take,
  tap,
  throwError,
  toArray,
} from 'rxjs';
import {
  ClosedError,
  EventLoopThread,
  moduleTask,
  offloadFrom,
  offloadToThread,
  QueueFullError,
  runOnLoop,
  SerializationError,
  TaskError,
  ThreadPool,
  WorkerCrashedError,
} from 'rxthreads';
import { fixture, grace, SharedCounters, within } from '../helpers';

const hostile = fixture('hostile.cjs');
const tasks = fixture('tasks.cjs');
const root = resolve(__dirname, '..', '..');

/** The `gc()` function, without --expose-gc on the command line. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function runNode(
  args: string[],
  timeout = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string; cpuMs: number }> {
  return new Promise((done, fail) => {
    const child = execFile(process.execPath, args, { cwd: root, timeout }, (error, stdout, stderr) => {
      if (error?.killed) fail(new Error(`the script did not exit by itself: ${stdout} ${stderr}`));
      else {
        const cpu = /cpu (\d+)/.exec(stdout);
        done({ code: child.exitCode, stdout, stderr, cpuMs: cpu ? Number(cpu[1]) : -1 });
      }
    });
  });
}

describe('hardening: transferred inputs', () => {
  let pool: ThreadPool;
  afterEach(() => pool.terminate());

  for (const kind of ['ArrayBuffer', 'Uint8Array'] as const) {
    it(`never re-runs a job on detached ${kind}s after its thread dies, and leaves none pending`, async () => {
      pool = new ThreadPool({ size: 1 });
      const task = moduleTask<ArrayBuffer | Uint8Array, number>(hostile, 'lengthOrExit');
      const runs = [9, 1, 2, 3].map((first) => {
        const bytes = new Uint8Array(16);
        bytes[0] = first;
        const input = kind === 'ArrayBuffer' ? bytes.buffer : bytes;
        return within(pool.run(task, input, { transfer: [bytes.buffer] }), 5_000);
      });
      const outcomes = await Promise.all(runs);
      expect(outcomes[0]).to.include({ status: 'rejected' });
      expect((outcomes[0] as PromiseRejectedResult).reason).to.be.instanceOf(WorkerCrashedError);
      for (const outcome of outcomes.slice(1)) {
        expect(outcome).to.not.equal('pending');
        if (outcome === 'pending') continue;
        if (outcome.status === 'fulfilled') expect(outcome.value).to.equal(16);
        else expect(outcome.reason).to.be.instanceOf(WorkerCrashedError);
      }
    });
  }

  it('fails a run whose transferred view is already detached with SerializationError, at once', async () => {
    pool = new ThreadPool({ size: 1 });
    const bytes = new Uint8Array(16);
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    const outcome = await within(
      pool.run((b: Uint8Array) => b.byteLength, bytes, { transfer: [bytes.buffer] }),
      2_000,
    );
    expect(outcome).to.not.equal('pending');
    expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(SerializationError);
    expect(pool.stats().queued).to.equal(0);
  });

  it('fails a run whose transferred ArrayBuffer is already detached, instead of running on 0 bytes', async () => {
    pool = new ThreadPool({ size: 1 });
    const buffer = new ArrayBuffer(16);
    structuredClone(buffer, { transfer: [buffer] });
    const outcome = await within(
      pool.run((b: ArrayBuffer) => b.byteLength, buffer, { transfer: [buffer] }),
      2_000,
    );
    expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(SerializationError);
    expect((outcome as PromiseRejectedResult).reason.cause).to.have.property('name', 'DataCloneError');
  });

  it('errors a stream that reuses one transferred chunk buffer with SerializationError, never hangs', async () => {
    pool = new ThreadPool({ size: 2 });
    const chunk = new Uint8Array(64);
    const out$ = of(1, 2, 3, 4).pipe(
      map(() => chunk),
      offloadToThread((b: Uint8Array) => b.byteLength, { pool, transfer: (b) => [b.buffer] }),
      toArray(),
    );
    const outcome = await within(lastValueFrom(out$), 5_000);
    expect(outcome).to.not.equal('pending');
    expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(SerializationError);
  });
});

describe('hardening: cancellation is per job', () => {
  let pool: ThreadPool;
  afterEach(() => pool.terminate());

  it("never lets one subscription's cancel grace kill another subscription's task on the same thread", async function () {
    this.timeout(10_000);
    pool = new ThreadPool({ size: 1, cancelGraceMs: 50 });
    const a = new SharedCounters();
    const b = new SharedCounters();
    const aSub = of({ sab: a.buffer, ms: 60, value: 'a' })
      .pipe(offloadToThread(moduleTask(hostile, 'spinIgnoringCancel'), { pool }))
      .subscribe({ error: () => {} });
    const bResult = lastValueFrom(
      of({ sab: b.buffer, value: 'b' }).pipe(offloadToThread(moduleTask<object, string>(tasks, 'gated'), { pool })),
    );
    await a.atLeast(1);
    await new Promise<void>((done) =>
      setImmediate(() => {
        aSub.unsubscribe();
        // The main thread is busy: A ends and B starts before A's result message is read.
        const end = Date.now() + 250;
        while (Date.now() < end);
        done();
      }),
    );
    await b.atLeast(1);
    await grace(150); // the grace timer of A has fired by now
    b.set(2, 1);
    expect(await bResult).to.equal('b');
  });
});

describe('hardening: threads that die at start-up', () => {
  it('fails runs with WorkerCrashedError instead of respawning forever when no thread can start', async function () {
    this.timeout(15_000);
    const pool = new ThreadPool({ size: 2, resourceLimits: { maxOldGenerationSizeMb: 1 } });
    try {
      const outcome = await within(
        pool.run((x: number) => x, 1),
        8_000,
      );
      expect(outcome).to.not.equal('pending');
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(WorkerCrashedError);
    } finally {
      await pool.terminate();
    }
  });

  it('fails runs and stops respawning when a --require preload throws in every thread', async function () {
    this.timeout(20_000);
    const { code, stdout } = await runNode([
      '-r',
      fixture('preload-throws-in-thread.cjs'),
      '-e',
      `
      const { ThreadPool } = require('rxthreads');
      const pool = new ThreadPool({ size: 2 });
      const before = process.cpuUsage();
      pool.run((x) => x, 1).then(
        () => console.log('resolved'),
        (e) => console.log('rejected', e.name),
      ).then(() => setTimeout(() => {
        const used = process.cpuUsage(before);
        console.log('cpu', Math.round((used.user + used.system) / 1000));
        console.log('threads', pool.stats().threads);
      }, 1000));
      `,
    ]);
    expect(stdout).to.include('rejected WorkerCrashedError');
    expect(code).to.equal(0);
    // No respawn loop: once the runs failed, the pool is quiet and the process exits by itself.
    expect(stdout).to.include('threads 0');
  });

  it('rejects resourceLimits that would crash the calling process, naming the option and value', () => {
    expect(() => new ThreadPool({ resourceLimits: { stackSizeMb: 0.01 } })).to.throw(TypeError, /stackSizeMb.*0\.01/);
    expect(() => new ThreadPool({ resourceLimits: { stackSizeMb: 1e6 } })).to.throw(TypeError, /stackSizeMb/);
    expect(() => new ThreadPool({ resourceLimits: { maxOldGenerationSizeMb: -1 } })).to.throw(
      TypeError,
      /maxOldGenerationSizeMb/,
    );
    expect(() => new EventLoopThread({ resourceLimits: { stackSizeMb: 0.01 } })).to.throw(TypeError, /stackSizeMb/);
  });
});

describe('hardening: sources that misbehave', () => {
  let pool: ThreadPool;
  beforeEach(() => {
    pool = new ThreadPool({ size: 2 });
  });
  afterEach(() => pool.terminate());

  function* throwingFinally(started: { count: number }): Generator<number> {
    try {
      for (let i = 0; i < 100_000; i++) yield i;
    } finally {
      started.count++;
      // biome-ignore lint/correctness/noUnsafeFinally: the point is a finally that throws
      throw new Error('finally throws');
    }
  }

  it("delivers a task's TaskError although the iterator's return() throws, and raises nothing uncaught", async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const seen = { count: 0 };
      const out$ = offloadFrom(
        throwingFinally(seen),
        (x: number) => {
          if (x === 3) throw new Error('three');
          return x;
        },
        { pool },
      );
      const outcome = await within(lastValueFrom(out$), 5_000);
      expect(outcome).to.not.equal('pending');
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(TaskError);
      expect(seen.count).to.equal(1);
      await grace(50);
      expect(uncaught).to.deep.equal([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it("cancels the read-ahead window on take(n) although the iterator's return() throws", async () => {
    const counters = new SharedCounters();
    const seen = { count: 0 };
    const values = await lastValueFrom(
      offloadFrom(
        (function* () {
          for (const i of throwingFinally(seen)) yield { sab: counters.buffer, value: i, fast: 5 };
        })(),
        moduleTask<object, number>(tasks, 'fastThenSpin'),
        { pool },
      ).pipe(take(5), toArray()),
    );
    expect(values).to.deep.equal([0, 1, 2, 3, 4]);
    // Values from 5 on spin until aborted: each one that started sees its cancel, and no more start.
    const started = counters.get(0);
    await counters.atLeast(started - 5, 1, 3_000);
    await grace(100);
    expect(counters.get(0)).to.equal(started);
    expect(started).to.be.at.most(5 + 2);
  });

  it('errors with a TypeError when an iterator returns a non-object from next(), as for…of does', async () => {
    const bad: Iterable<number> = {
      [Symbol.iterator]: () => ({ next: () => undefined as unknown as IteratorResult<number> }),
    };
    const outcome = await within(lastValueFrom(offloadFrom(bad, (x: number) => x, { pool }).pipe(toArray())), 3_000);
    expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(TypeError);
    const asyncBad: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: async () => 42 as unknown as IteratorResult<number> }),
    };
    const asyncOutcome = await within(
      lastValueFrom(offloadFrom(asyncBad, (x: number) => x, { pool }).pipe(toArray())),
      3_000,
    );
    expect((asyncOutcome as PromiseRejectedResult).reason).to.be.instanceOf(TypeError);
  });

  for (const which of ['offloadToThread', 'runOnLoop'] as const) {
    it(`${which} never subscribes to its source for an already-closed subscriber`, async () => {
      const loop = new EventLoopThread();
      try {
        let subscribed = 0;
        const source$ = new Observable<number>(() => {
          subscribed++;
          const timer = setInterval(() => {}, 5);
          return () => clearInterval(timer);
        });
        const stage =
          which === 'offloadToThread' ? offloadToThread((x: number) => x, { pool }) : runOnLoop(loop, (x: number) => x);
        const outcome = await within(
          lastValueFrom(combineLatest([throwError(() => new Error('first')), source$.pipe(stage)])),
          2_000,
        );
        expect((outcome as PromiseRejectedResult).reason).to.have.property('message', 'first');
        expect(subscribed).to.equal(0);
        // The same with an interval, as a user would write it: nothing keeps ticking.
        let ticks = 0;
        await within(
          lastValueFrom(
            combineLatest([
              throwError(() => new Error('first')),
              interval(5).pipe(
                tap(() => ticks++),
                stage,
              ),
            ]),
          ),
          2_000,
        );
        await grace(50);
        expect(ticks).to.equal(0);
      } finally {
        await loop.terminate();
      }
    });
  }
});

describe('hardening: queues and memory', () => {
  let pool: ThreadPool;
  afterEach(() => pool.terminate());

  it('releases the input of a cancelled queued run() at once', async function () {
    this.timeout(20_000);
    pool = new ThreadPool({ size: 1 });
    const counters = new SharedCounters();
    const busy = pool.run(moduleTask(tasks, 'gated'), { sab: counters.buffer, value: 1 });
    busy.catch(() => {}); // awaited below; only a failed assertion leaves it to terminate()
    await counters.atLeast(1);
    const registry = new FinalizationRegistry<number>(() => {
      collected++;
    });
    let collected = 0;
    const controllers: AbortController[] = [];
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      const ac = new AbortController();
      let input: Uint8Array | undefined = new Uint8Array(1024 * 1024);
      registry.register(input, i);
      runs.push(pool.run((b: Uint8Array) => b.byteLength, input, { signal: ac.signal }).catch(() => 'aborted'));
      input = undefined;
      controllers.push(ac);
    }
    for (const ac of controllers) ac.abort();
    expect(await Promise.all(runs)).to.deep.equal(new Array(20).fill('aborted'));
    const gc = exposeGc();
    for (let i = 0; i < 20 && collected < 20; i++) {
      gc();
      await grace(10);
    }
    expect(collected).to.equal(20);
    counters.set(2, 1);
    await busy;
  });

  it("counts only run() calls against maxQueue, never an operator's backlog", async () => {
    pool = new ThreadPool({ size: 1, maxQueue: 10 });
    const counters = new SharedCounters();
    const sub = from(Array.from({ length: 200 }, (_, i) => ({ sab: counters.buffer, value: i })))
      .pipe(offloadToThread(moduleTask(tasks, 'gated'), { pool }))
      .subscribe({ error: () => {} });
    await counters.atLeast(1);
    const run = pool.run((x: number) => x + 1, 1);
    const outcome = await within(run, 200);
    // Queued behind the operator's running task, it waits: it is not refused.
    expect(outcome === 'pending' || outcome.status === 'fulfilled').to.equal(true);
    sub.unsubscribe();
    counters.set(2, 1);
    expect(await run).to.equal(2);
    // run() calls themselves are still counted.
    const held = new SharedCounters();
    const blocker = pool.run(moduleTask(tasks, 'gated'), { sab: held.buffer, value: 0 });
    await held.atLeast(1);
    const queued = Array.from({ length: 12 }, (_, i) => pool.run((x: number) => x, i).catch((e: Error) => e));
    const refused = (await Promise.race([Promise.all(queued.slice(10)), grace(200).then(() => [])])) as unknown[];
    expect(refused.some((e) => e instanceof QueueFullError)).to.equal(true);
    held.set(2, 1);
    await blocker;
    await Promise.all(queued);
  });
});

describe('hardening: done callbacks and ready', () => {
  it('never calls an onDone callback synchronously, and a throwing one is an uncaught exception, not an unhandled rejection', async () => {
    const { stdout, code } = await runNode([
      '-e',
      `
      const { ThreadPool } = require('rxthreads');
      process.on('unhandledRejection', (e) => console.log('unhandled', e.message));
      process.on('uncaughtException', (e) => console.log('uncaught', e.message));
      const pool = new ThreadPool({ size: 1 });
      pool.onDone(() => { throw new Error('first'); });
      pool.onDone(() => console.log('second ran'));
      pool.close().then(() => {
        let sync = true;
        pool.onDone(() => { console.log('late ran, sync=' + sync); throw new Error('late'); });
        sync = false;
        console.log('after onDone');
      });
      `,
    ]);
    expect(code).to.equal(0);
    expect(stdout).to.include('uncaught first');
    expect(stdout).to.include('second ran');
    expect(stdout).to.include('late ran, sync=false');
    expect(stdout).to.include('uncaught late');
    expect(stdout).to.not.include('unhandled');
    expect(stdout.indexOf('after onDone')).to.be.lessThan(stdout.indexOf('late ran'));
  });

  it('rejects ready with ClosedError for a loop closed before its thread started', async () => {
    for (const end of ['close', 'terminate'] as const) {
      const loop = new EventLoopThread();
      void loop[end]();
      const outcome = await within(loop.ready, 5_000);
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(ClosedError);
    }
  });
});

describe('hardening: no head-of-line blocking', () => {
  it('never leaves short tasks handed ahead to a thread stuck in a long task while another thread is idle', async function () {
    this.timeout(15_000);
    const pool = new ThreadPool({ size: 2 });
    try {
      // The pool learns that its tasks are tiny, so it hands many to each thread ahead of time.
      await Promise.all(Array.from({ length: 5000 }, (_, i) => pool.run((x: number) => x + 1, i)));
      const gate = new SharedCounters();
      const long = pool.run(moduleTask(tasks, 'gated'), { sab: gate.buffer, value: 'long' });
      const shorts = Array.from({ length: 8 }, (_, i) => pool.run((x: number) => x, i));
      const outcome = await within(Promise.all(shorts), 5_000);
      expect(outcome, 'short tasks waited behind the long one').to.not.equal('pending');
      gate.set(2, 1);
      expect(await long).to.equal('long');
    } finally {
      await pool.terminate();
    }
  });
});
