import { expect } from 'chai';
import { EMPTY, firstValueFrom, lastValueFrom, NEVER, range, Subject } from 'rxjs';
import { concatWith, map, take, tap, toArray } from 'rxjs/operators';
import { EventLoopThread, moduleTask, offloadToThread, SerializationError, TaskError, ThreadPool } from 'rxthreads';
import {
  fixture,
  grace,
  OsThreadLog,
  osThreads,
  osThreadsDownTo,
  SharedCounters,
  valuesWhileOpen,
} from '../../helpers';

type Input = { sab: SharedArrayBuffer; value?: number; fast?: number; ms?: number; osThreads?: SharedArrayBuffer };
const tasks = fixture('tasks.cjs');
const count = moduleTask<Input, number>(tasks, 'count');
const fastThenSpin = moduleTask<Input, number>(tasks, 'fastThenSpin');
const spinUntilAborted = moduleTask<Input, string>(tasks, 'spinUntilAborted');
const overlap = moduleTask<Input, number>(tasks, 'overlap');
const sleepTask = moduleTask<number, number>(tasks, 'sleep');

describe('offloadToThread', () => {
  let pool: ThreadPool;
  beforeEach(() => {
    // A generous grace: on a loaded machine a spinning thread may see its cancel late, and these
    // specs check that it sees it, not how fast.
    pool = new ThreadPool({ size: 2, cancelGraceMs: 2_000 });
  });
  afterEach(() => pool.terminate());

  it('is cold: nothing reaches a thread before subscribe, and each subscription runs its own work', async () => {
    const counters = new SharedCounters();
    const out$ = range(0, 3).pipe(
      map((value) => ({ sab: counters.buffer, value })),
      offloadToThread(count, { pool }),
    );
    await grace(50);
    expect(counters.get(0)).to.equal(0);
    expect(await lastValueFrom(out$.pipe(toArray()))).to.deep.equal([0, 1, 2]);
    expect(await lastValueFrom(out$.pipe(toArray()))).to.deep.equal([0, 1, 2]);
    expect(counters.get(0)).to.equal(6);
  });

  it('completes an empty source with no values', async () => {
    expect(
      await lastValueFrom(
        EMPTY.pipe(
          offloadToThread((x: number) => x, { pool }),
          toArray(),
        ),
      ),
    ).to.deep.equal([]);
  });

  it('stays open on a never-ending source until unsubscribed', async () => {
    const out$ = range(1, 2).pipe(
      concatWith(NEVER),
      offloadToThread((x: number) => x * 10, { pool }),
    );
    expect(await valuesWhileOpen(out$, 2)).to.deep.equal([10, 20]);
  });

  it('maps one value', async () => {
    expect(await firstValueFrom(range(7, 1).pipe(offloadToThread((x: number) => x * x, { pool })))).to.equal(49);
  });

  it('maps many values exactly once each, in source order', async () => {
    const out = await lastValueFrom(
      range(0, 5000).pipe(
        offloadToThread((x: number) => x * 2, { pool }),
        toArray(),
      ),
    );
    expect(out).to.deep.equal(Array.from({ length: 5000 }, (_, i) => i * 2));
  });

  it('emits in completion order when ordered is false', async () => {
    await using wide = new ThreadPool({ size: 3 });
    const out = await lastValueFrom(
      range(0, 3).pipe(
        map((i) => [300, 10, 150][i]!),
        offloadToThread(sleepTask, { pool: wide, ordered: false, concurrency: 3 }),
        toArray(),
      ),
    );
    expect(out).to.deep.equal([10, 150, 300]);
  });

  it('runs at most `concurrency` tasks of a subscription at once', async () => {
    for (const concurrency of [1, 2]) {
      const counters = new SharedCounters();
      await lastValueFrom(
        range(0, 8).pipe(
          map((value) => ({ sab: counters.buffer, value, ms: 15 })),
          offloadToThread(overlap, { pool, concurrency }),
          toArray(),
        ),
      );
      expect(counters.get(1), `concurrency ${concurrency}`).to.equal(concurrency);
    }
  });

  it('forwards a source error after cancelling in-flight work', async () => {
    const counters = new SharedCounters();
    const source = new Subject<Input>();
    const result = lastValueFrom(source.pipe(offloadToThread(spinUntilAborted, { pool }))).catch((e: Error) => e);
    source.next({ sab: counters.buffer });
    await counters.atLeast(1);
    source.error(new Error('source failed'));
    expect(((await result) as Error).message).to.equal('source failed');
    await counters.atLeast(1, 1); // the running task saw its cancel
  });

  it('errors with TaskError when a task throws, cancelling its siblings; queued values never start', async () => {
    const counters = new SharedCounters();
    const error = await lastValueFrom(
      range(0, 20).pipe(
        map((value) => ({ sab: counters.buffer, value })),
        offloadToThread(
          (input: { sab: SharedArrayBuffer; value: number }, ctx) => {
            const view = new Int32Array(input.sab);
            Atomics.add(view, 0, 1);
            if (input.value === 0) {
              Atomics.store(view, 2, 1); // let the others fail only once this one runs
              Atomics.notify(view, 2);
              while (!ctx.aborted) Atomics.add(view, 3, 1);
              Atomics.add(view, 1, 1);
              return 0;
            }
            Atomics.wait(view, 2, 0);
            throw new RangeError(`value ${input.value}`);
          },
          { pool, concurrency: 2 },
        ),
      ),
    ).catch((e: Error) => e);
    expect(error).to.be.instanceOf(TaskError);
    expect((error as TaskError).cause.name).to.equal('RangeError');
    await counters.atLeast(1, 1); // the sibling spinning on the other thread was cancelled
    const started = counters.get(0);
    await grace();
    expect(counters.get(0)).to.equal(started);
    expect(started).to.be.lessThan(20);
  });

  it('on early unsubscribe, never starts queued values and aborts running ones', async () => {
    const counters = new SharedCounters();
    const sub = range(0, 50)
      .pipe(
        map((value) => ({ sab: counters.buffer, value })),
        offloadToThread(spinUntilAborted, { pool }),
      )
      .subscribe();
    await counters.atLeast(2); // both threads are spinning
    sub.unsubscribe();
    await counters.atLeast(2, 1); // both saw the cancel
    await grace();
    expect(counters.get(0)).to.equal(2); // and nothing else ever started
    expect(await pool.run((x: number) => x, 1)).to.equal(1);
  });

  it('with take(n), emits n values and never starts the values after the running one', async () => {
    const single = new ThreadPool({ size: 1 });
    try {
      const counters = new SharedCounters();
      const out = await lastValueFrom(
        range(0, 10).pipe(
          map((value) => ({ sab: counters.buffer, value, fast: 3 })),
          offloadToThread(fastThenSpin, { pool: single }),
          take(3),
          toArray(),
        ),
      );
      expect(out).to.deep.equal([0, 1, 2]);
      // Value 3 may have started before the cancel reached it; if it did, it saw the cancel.
      if (counters.get(0) === 4) await counters.atLeast(1, 1);
      await grace();
      expect(counters.get(0)).to.be.oneOf([3, 4]); // values 4..9 never started
      expect(counters.get(1)).to.equal(counters.get(0) - 3);
    } finally {
      await single.terminate();
    }
  });

  it('leaves other subscriptions on the same pool unaffected by an unsubscribe', async () => {
    const counters = new SharedCounters();
    const doomed = range(0, 10)
      .pipe(
        map((value) => ({ sab: counters.buffer, value })),
        offloadToThread(spinUntilAborted, { pool, concurrency: 1 }),
      )
      .subscribe();
    const survivor = lastValueFrom(
      range(0, 300).pipe(
        offloadToThread((x: number) => x + 1, { pool }),
        toArray(),
      ),
    );
    await counters.atLeast(1);
    doomed.unsubscribe();
    expect(await survivor).to.deep.equal(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('fails an unclonable value with SerializationError', async () => {
    const error = await lastValueFrom(
      range(0, 3).pipe(
        map((i) => (i === 1 ? () => i : i)),
        offloadToThread((x: unknown) => x, { pool }),
      ),
    ).catch((e: Error) => e);
    expect(error).to.be.instanceOf(SerializationError);
  });

  it('moves buffers with the transfer option', async () => {
    const buffers = [new Uint8Array(8), new Uint8Array(16)];
    const sizes = await lastValueFrom(
      range(0, 2).pipe(
        map((i) => buffers[i]!),
        offloadToThread((bytes: Uint8Array) => bytes.byteLength, {
          pool,
          transfer: (bytes) => [bytes.buffer as ArrayBuffer],
        }),
        toArray(),
      ),
    );
    expect(sizes).to.deep.equal([8, 16]);
    expect(buffers.map((b) => b.byteLength)).to.deep.equal([0, 0]);
  });

  it('stops a synchronous source at once when the stream fails in the middle of its emission', async () => {
    let produced = 0;
    const error = await lastValueFrom(
      range(0, 1_000_000).pipe(
        tap(() => produced++),
        map((i) => new Uint8Array([i & 0xff])),
        offloadToThread((bytes: Uint8Array) => bytes[0], {
          pool,
          transfer: (bytes) => {
            if (produced === 5) throw new Error('no transfer list for this one');
            return [bytes.buffer as ArrayBuffer];
          },
        }),
      ),
    ).catch((e: Error) => e);
    expect((error as Error).message).to.equal('no transfer list for this one');
    expect(produced).to.equal(5);
  });

  it('validates its options with TypeErrors', async () => {
    expect(() => offloadToThread((x: number) => x, { concurrency: 0 })).to.throw(TypeError, /`concurrency`.*`0`/);
    expect(() => offloadToThread((x: number) => x, { threads: -1 })).to.throw(TypeError, /`threads`.*`-1`/);
    expect(() => offloadToThread((x: number) => x, { pool, threads: 2 })).to.throw(TypeError, /`threads`/);
    expect(() => offloadToThread((x: number) => x, { pool: {} as ThreadPool })).to.throw(TypeError, /`pool`/);
    expect(() => offloadToThread((x: number) => x, { threads: 1025 })).to.throw(TypeError, /`threads`.*from 1 to 1024/);
    // An EventLoopThread runs tasks with runOnLoop: as a pool it would run them at once, none limited.
    const loop = new EventLoopThread();
    try {
      expect(() => offloadToThread((x: number) => x, { pool: loop as unknown as ThreadPool })).to.throw(
        TypeError,
        /`pool` to be a ThreadPool or a RemotePool \(for an EventLoopThread, use runOnLoop\)/,
      );
    } finally {
      await loop.close(); // its thread gone before the next spec counts threads
    }
  });

  describe('with threads: n (a private pool: the done future)', () => {
    it('completes only after its own threads have exited', async () => {
      const before = osThreads();
      const counters = new SharedCounters();
      const log = new OsThreadLog();
      let during = 0;
      let aliveAtComplete: number[] | undefined;
      await new Promise<void>((resolve, reject) =>
        range(0, 20)
          .pipe(
            map((value) => ({ sab: counters.buffer, value, osThreads: log.buffer })),
            offloadToThread(count, { threads: 2 }),
          )
          .subscribe({
            next: () => {
              during = Math.max(during, osThreads());
            },
            error: reject,
            complete: () => {
              aliveAtComplete = log.alive();
              resolve();
            },
          }),
      );
      expect(during).to.be.at.least(before + 2);
      expect(log.ids()).to.not.be.empty;
      expect(aliveAtComplete).to.deep.equal([]);
    });

    it('errors only after its threads have exited', async () => {
      const counters = new SharedCounters();
      const log = new OsThreadLog();
      const source = new Subject<Input & { osThreads: SharedArrayBuffer }>();
      let aliveAtError: number[] | undefined;
      const error = new Promise<Error>((resolve) =>
        source.pipe(offloadToThread(count, { threads: 2 })).subscribe({
          error: (e: Error) => {
            aliveAtError = log.alive();
            resolve(e);
          },
        }),
      );
      source.next({ sab: counters.buffer, value: 1, osThreads: log.buffer });
      await counters.atLeast(1);
      source.error(new Error('early'));
      expect((await error).message).to.equal('early');
      expect(log.ids()).to.have.length(1);
      expect(aliveAtError).to.deep.equal([]);
    });

    it('has its threads exit within cancelGraceMs + 1 s after an unsubscribe, even from a spinning task', async () => {
      const before = osThreads();
      const counters = new SharedCounters();
      const sub = range(0, 4)
        .pipe(
          map((value) => ({ sab: counters.buffer, value })),
          offloadToThread(moduleTask<Input, never>(tasks, 'spinForever'), { threads: 2 }),
        )
        .subscribe();
      await counters.atLeast(2);
      sub.unsubscribe();
      const took = await osThreadsDownTo(before, 5_000);
      expect(took).to.be.lessThan(1_100);
      expect(counters.get(0)).to.equal(2);
    });

    it('has its threads exit about 1 s after an unsubscribe when a timer keeps them alive, not after closeGraceMs', async () => {
      const before = osThreads();
      const counters = new SharedCounters();
      // Each task leaves an interval running in its thread, so the thread never exits by itself:
      // only the close grace ends it.
      const keepsThreadAlive = (input: { sab: SharedArrayBuffer }, ctx: { signal: AbortSignal }) =>
        new Promise((resolve) => {
          setInterval(() => {}, 1_000);
          const view = new Int32Array(input.sab);
          Atomics.add(view, 0, 1);
          Atomics.notify(view, 0);
          ctx.signal.addEventListener('abort', () => resolve(0));
        });
      const sub = range(0, 2)
        .pipe(
          map(() => ({ sab: counters.buffer })),
          offloadToThread(keepsThreadAlive, { threads: 2 }),
        )
        .subscribe();
      await counters.atLeast(2);
      sub.unsubscribe();
      const took = await osThreadsDownTo(before, 8_000);
      // The close grace after a cancel is 1 s, as an inThread stage's (closeGraceMs, 5 s, before),
      // then the threads are terminated, which takes a little more.
      expect(took).to.be.lessThan(2_000);
    });

    it('gives each subscription its own private pool', async () => {
      const out$ = range(0, 3).pipe(offloadToThread((x: number) => x + 1, { threads: 1 }));
      const [a, b] = await Promise.all([lastValueFrom(out$.pipe(toArray())), lastValueFrom(out$.pipe(toArray()))]);
      expect(a).to.deep.equal([1, 2, 3]);
      expect(b).to.deep.equal([1, 2, 3]);
    });
  });
});
