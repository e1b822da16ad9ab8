import { expect } from 'chai';
import { EMPTY, from, lastValueFrom, NEVER, of, range, Subject } from 'rxjs';
import { concatWith, map, take, toArray } from 'rxjs/operators';
import {
  AbortError,
  EventLoopThread,
  moduleTask,
  offloadFrom,
  offloadToThread,
  runOnLoop,
  SerializationError,
  TaskError,
  type TaskLike,
  ThreadPool,
  TimeoutError,
} from 'rxthreads';
import { fixture, grace, record, SharedCounters, valuesWhileOpen } from '../../helpers';

type Input = { sab: SharedArrayBuffer; count?: number; before?: number };
const streams = fixture('streams.cjs');
const numbers = moduleTask<Input, Generator<number>>(streams, 'numbers');
const numbersAsync = moduleTask<Input, AsyncGenerator<number>>(streams, 'numbersAsync');
const endless = moduleTask<Input, Generator<number>>(streams, 'endless');
const endlessAsync = moduleTask<Input, AsyncGenerator<number>>(streams, 'endlessAsync');
const yieldThenBlock = moduleTask<Input, Generator<string>>(streams, 'yieldThenBlock');
const yieldThenWait = moduleTask<Input, AsyncGenerator<string>>(streams, 'yieldThenWait');
const throwsAfter = moduleTask<Input, Generator<number>>(streams, 'throwsAfter');
const unclonable = moduleTask<Input, Generator<unknown>>(streams, 'unclonable');

/** Inline: yields `n` strings `n:i`. */
function* upTo(n: number) {
  for (let i = 0; i < n; i++) yield `${n}:${i}`;
}

describe('streaming tasks (generators)', () => {
  let pool: ThreadPool;
  let loop: EventLoopThread;
  beforeEach(() => {
    pool = new ThreadPool({ size: 2, cancelGraceMs: 200 });
    loop = new EventLoopThread();
  });
  afterEach(() => Promise.all([pool.terminate(), loop.terminate()]));

  it('types the output as the yielded values', () => {
    const fromInline = offloadToThread(upTo, { pool });
    const typed: (source: import('rxjs').Observable<number>) => import('rxjs').Observable<string> = fromInline;
    expect(typed).to.be.a('function');
  });

  it('completes an empty source with no values', async () => {
    expect(await lastValueFrom(EMPTY.pipe(offloadToThread(upTo, { pool }), toArray()))).to.deep.equal([]);
  });

  it('stays open on a never-ending source', async () => {
    const out$ = range(2, 1).pipe(concatWith(NEVER), offloadToThread(upTo, { pool }));
    expect(await valuesWhileOpen(out$, 2)).to.deep.equal(['2:0', '2:1']);
  });

  it('emits every value one input yields, in order: inline and module, sync and async generators', async () => {
    expect(await lastValueFrom(range(3, 1).pipe(offloadToThread(upTo, { pool }), toArray()))).to.deep.equal([
      '3:0',
      '3:1',
      '3:2',
    ]);
    const counters = new SharedCounters();
    const both: TaskLike<Input, Generator<number> | AsyncGenerator<number>>[] = [numbers, numbersAsync];
    for (const task of both) {
      const out = await lastValueFrom(
        range(0, 1).pipe(
          map(() => ({ sab: counters.buffer, count: 5000 })),
          offloadToThread(task, { pool }),
          toArray(),
        ),
      );
      expect(out).to.deep.equal(Array.from({ length: 5000 }, (_, i) => i));
    }
    const async = await lastValueFrom(
      range(2, 1).pipe(
        offloadToThread(
          async function* (n: number) {
            yield n;
            await new Promise((resolve) => setTimeout(resolve, 5));
            yield n * 2;
          },
          { pool },
        ),
        toArray(),
      ),
    );
    expect(async).to.deep.equal([2, 4]);
  });

  it('ordered: emits every value of input k before any of input k+1, even when k+1 is faster', async () => {
    const out = await lastValueFrom(
      range(1, 4).pipe(
        offloadToThread(
          async function* (n: number) {
            for (let i = 0; i < 3; i++) {
              await new Promise((resolve) => setTimeout(resolve, (5 - n) * 4));
              yield `${n}:${i}`;
            }
          },
          { pool, concurrency: 4 },
        ),
        toArray(),
      ),
    );
    expect(out).to.deep.equal(['1:0', '1:1', '1:2', '2:0', '2:1', '2:2', '3:0', '3:1', '3:2', '4:0', '4:1', '4:2']);
  });

  it('unordered: emits values as they come, each exactly once, in order within one input', async () => {
    const out = await lastValueFrom(range(1, 40).pipe(offloadToThread(upTo, { pool, ordered: false }), toArray()));
    const expected = Array.from({ length: 40 }, (_, k) => Array.from(upTo(k + 1))).flat();
    expect([...out].sort()).to.deep.equal([...expected].sort());
    for (let n = 1; n <= 40; n++) {
      expect(out.filter((value) => value.startsWith(`${n}:`))).to.deep.equal(Array.from(upTo(n)));
    }
  });

  it('streams on an EventLoopThread through runOnLoop, and through offloadFrom', async () => {
    expect(await lastValueFrom(range(1, 3).pipe(runOnLoop(loop, upTo), toArray()))).to.deep.equal([
      '1:0',
      '2:0',
      '2:1',
      '3:0',
      '3:1',
      '3:2',
    ]);
    expect(await lastValueFrom(offloadFrom([2, 1], upTo, { pool }).pipe(toArray()))).to.deep.equal([
      '2:0',
      '2:1',
      '1:0',
    ]);
  });

  for (const [kind, task] of [
    ['sync', yieldThenBlock],
    ['async', yieldThenWait],
  ] as [string, TaskLike<Input, Generator<string> | AsyncGenerator<string>>][]) {
    it(`sends a yielded value while the ${kind} generator goes on (never held back for a batch)`, async () => {
      const counters = new SharedCounters();
      const seen: string[] = [];
      const done = new Promise<void>((resolve, reject) =>
        range(0, 1)
          .pipe(
            map(() => ({ sab: counters.buffer })),
            offloadToThread(task, { pool }),
          )
          .subscribe({
            next: (value) => {
              seen.push(value);
              if (value === 'first') counters.set(2, 1); // the generator waits for this
            },
            error: reject,
            complete: resolve,
          }),
      );
      await done;
      expect(seen).to.deep.equal(['first', 'second']);
    });
  }

  it('a throwing generator errors the stream with TaskError after the values it yielded', async () => {
    const counters = new SharedCounters();
    const seen: number[] = [];
    const error = await lastValueFrom(
      range(0, 1).pipe(
        map(() => ({ sab: counters.buffer, before: 2 })),
        offloadToThread(throwsAfter, { pool }),
        map((value) => seen.push(value)),
      ),
    ).catch((e: unknown) => e);
    expect(seen).to.deep.equal([0, 1]);
    expect(error).to.be.instanceOf(TaskError);
    expect((error as TaskError).cause.name).to.equal('RangeError');
  });

  it('with settle, each value is a fulfilled entry and a throw ends its input with one rejected entry', async () => {
    const counters = new SharedCounters();
    const out = await lastValueFrom(
      range(1, 2).pipe(
        map((before) => ({ sab: counters.buffer, before })),
        offloadToThread(throwsAfter, { pool, settle: true }),
        toArray(),
      ),
    );
    expect(out.map((entry) => (entry.status === 'fulfilled' ? entry.value : entry.reason.name))).to.deep.equal([
      0,
      'TaskError',
      0,
      1,
      'TaskError',
    ]);
    expect(out.map((entry) => entry.input.before)).to.deep.equal([1, 1, 2, 2, 2]);
  });

  it('fails on a value that cannot be cloned after the values before it; the generator is closed', async () => {
    const counters = new SharedCounters();
    const seen: unknown[] = [];
    const error = await lastValueFrom(
      range(0, 1).pipe(
        map(() => ({ sab: counters.buffer })),
        offloadToThread(unclonable, { pool }),
        map((value) => seen.push(value)),
      ),
    ).catch((e: unknown) => e);
    expect(seen).to.deep.equal(['fine']);
    expect(error).to.be.instanceOf(SerializationError);
    await counters.atLeast(1, 1); // its finally ran
    expect(await pool.run((x: number) => x + 1, 1)).to.equal(2); // the thread goes on
  });

  for (const [kind, task] of [
    ['sync', endless],
    ['async', endlessAsync],
  ] as [string, TaskLike<Input, Generator<number> | AsyncGenerator<number>>][]) {
    it(`on take(n), emits n values, aborts ctx.signal and runs the ${kind} generator's finally in the thread`, async () => {
      const counters = new SharedCounters();
      const out = await lastValueFrom(
        range(0, 1).pipe(
          map(() => ({ sab: counters.buffer })),
          offloadToThread(task, { pool }),
          take(5),
          toArray(),
        ),
      );
      expect(out).to.deep.equal([0, 1, 2, 3, 4]);
      await counters.atLeast(1, 1);
      expect(counters.get(1)).to.equal(1);
      expect(counters.get(3)).to.equal(1); // ctx.signal was aborted when finally ran
    });
  }

  it("on take(1), reaches an async generator's return() at once, every time: its finally runs and its thread lives on", async () => {
    const fast = moduleTask<Input, number>(fixture('streams.cjs'), 'endlessFastAsync');
    const one = new ThreadPool({ size: 1, cancelGraceMs: 100 });
    try {
      const threadId = () => one.run((_: null, ctx) => ctx.threadId, null);
      const first = await threadId();
      for (let round = 0; round < 40; round++) {
        const counters = new SharedCounters();
        const out = await lastValueFrom(
          of({ sab: counters.buffer }).pipe(offloadToThread(fast, { pool: one }), take(1), toArray()),
        );
        expect(out).to.deep.equal([0]);
        // Well within cancelGraceMs, after which the thread would be ended instead.
        await counters.atLeast(1, 1, 80);
      }
      expect(await threadId()).to.equal(first);
    } finally {
      await one.terminate();
    }
  });

  it('ordered: counts towards timeout only the time a generator runs, not the time its values wait for an earlier input', async () => {
    const burst = moduleTask<{ before: number; count: number; after: number }, number>(fixture('streams.cjs'), 'burst');
    // Input 1 yields more than its window at once, so it waits for credit until input 0 (240 ms)
    // has ended; then it runs 150 ms more. Each runs well under 300 ms; input 1 ends ~400 ms after
    // it started.
    const inputs = [
      { before: 240, count: 1, after: 0 },
      { before: 0, count: 3000, after: 150 },
    ];
    const out = await lastValueFrom(
      from(inputs).pipe(offloadToThread(burst, { pool, concurrency: 2, timeout: 300 }), toArray()),
    );
    expect(out).to.have.length(3001);
  });

  it("on unsubscribe, a source error, a signal or a timeout, runs the generator's finally", async () => {
    const ends: [string, (c: SharedCounters) => Promise<unknown>][] = [
      [
        'unsubscribe',
        async (c) => {
          const sub = range(0, 1)
            .pipe(
              map(() => ({ sab: c.buffer })),
              offloadToThread(endlessAsync, { pool }),
            )
            .subscribe();
          await c.atLeast(3);
          sub.unsubscribe();
          return 'unsubscribed';
        },
      ],
      [
        'source error',
        async (c) => {
          const source = new Subject<Input>();
          const result = lastValueFrom(source.pipe(offloadToThread(endlessAsync, { pool }))).catch((e: Error) => e);
          source.next({ sab: c.buffer });
          await c.atLeast(3);
          source.error(new Error('source failed'));
          return ((await result) as Error).message;
        },
      ],
      [
        'signal',
        async (c) => {
          const ac = new AbortController();
          const result = lastValueFrom(
            range(0, 1).pipe(
              map(() => ({ sab: c.buffer })),
              offloadToThread(endless, { pool, signal: ac.signal }),
            ),
          ).catch((e: unknown) => e);
          await c.atLeast(3);
          ac.abort();
          return (await result) instanceof AbortError ? 'AbortError' : 'other';
        },
      ],
      [
        'timeout',
        async (c) => {
          const result = await lastValueFrom(
            range(0, 1).pipe(
              map(() => ({ sab: c.buffer })),
              offloadToThread(endlessAsync, { pool, timeout: 50 }),
            ),
          ).catch((e: unknown) => e);
          return result instanceof TimeoutError ? 'TimeoutError' : 'other';
        },
      ],
    ];
    const outcomes: string[] = [];
    for (const [name, end] of ends) {
      const counters = new SharedCounters();
      outcomes.push(`${name}: ${String(await end(counters))}`);
      await counters.atLeast(1, 1);
      expect(counters.get(3), name).to.equal(1);
    }
    expect(outcomes).to.deep.equal([
      'unsubscribe: unsubscribed',
      'source error: source failed',
      'signal: AbortError',
      'timeout: TimeoutError',
    ]);
  });

  it('a sibling that throws cancels a running stream (its finally runs)', async () => {
    const counters = new SharedCounters();
    const error = await lastValueFrom(
      range(0, 2).pipe(
        map((i) => ({ sab: counters.buffer, before: i === 0 ? -1 : 3 })),
        offloadToThread(
          async function* (input: Input) {
            const view = new Int32Array(input.sab);
            if (input.before === 3) {
              await Atomics.waitAsync(view, 0, 0).value; // until the stream below runs
              throw new Error('sibling failed');
            }
            Atomics.store(view, 0, 1);
            Atomics.notify(view, 0);
            try {
              for (;;) {
                yield 0;
                await new Promise((resolve) => setTimeout(resolve, 1));
              }
            } finally {
              Atomics.add(view, 1, 1);
              Atomics.notify(view, 1);
            }
          },
          { pool, ordered: false },
        ),
      ),
    ).catch((e: unknown) => e);
    expect((error as TaskError).message).to.equal('sibling failed');
    await counters.atLeast(1, 1);
  });

  it('pool.run and loop.submit reject a streaming task with a TypeError pointing to the operators', async () => {
    const counters = new SharedCounters();
    for (const attempt of [
      () => pool.run(numbers, { sab: counters.buffer, count: 3 }),
      () => pool.run(upTo, 3),
      () => loop.submit(numbersAsync, { sab: counters.buffer, count: 3 }),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.include('offloadToThread');
    }
    expect(counters.get(0)).to.equal(0); // the generators' bodies never ran
  });

  it('holds an ordered later input to a window of values while an earlier one runs', async () => {
    // [0] values the later input has yielded; [2] the gate the earlier input waits for.
    const counters = new SharedCounters();
    const out = lastValueFrom(
      range(0, 2).pipe(
        map((i) => ({ sab: counters.buffer, slow: i === 0 })),
        offloadToThread(
          async function* (input: { sab: SharedArrayBuffer; slow: boolean }) {
            const view = new Int32Array(input.sab);
            if (input.slow) {
              await Atomics.waitAsync(view, 2, 0).value;
              yield -1;
              return;
            }
            for (let i = 0; ; i++) {
              Atomics.add(view, 0, 1);
              yield i;
            }
          },
          { pool },
        ),
        take(3000),
        toArray(),
      ),
    );
    await counters.atLeast(1024);
    await grace(100); // room to run ahead, if the credit did not hold it
    expect(counters.get(0)).to.be.within(1024, 1025);
    counters.set(2, 1);
    expect(await out).to.deep.equal([-1, ...Array.from({ length: 2999 }, (_, i) => i)]);
  });

  it('an abandoned generator on an EventLoopThread never sends into a later stream', async () => {
    const slow = new EventLoopThread({ cancelGraceMs: 30 });
    try {
      // [2] lets the abandoned generator go on; [3] lets the later stream finish.
      const counters = new SharedCounters();
      const ignoresCancel = async function* (input: { sab: SharedArrayBuffer; tag: string }) {
        const view = new Int32Array(input.sab);
        yield `${input.tag}-0`;
        await Atomics.waitAsync(view, input.tag === 'old' ? 2 : 3, 0).value; // deaf to ctx.signal
        for (let i = 1; i < 50; i++) yield `${input.tag}-${i}`;
      };
      const first = await lastValueFrom(
        of({ sab: counters.buffer, tag: 'old' }).pipe(runOnLoop(slow, ignoresCancel), take(1), toArray()),
      );
      expect(first).to.deep.equal(['old-0']);
      await grace(100); // past cancelGraceMs: the old job is abandoned and its slot freed
      const later: string[] = [];
      const done = new Promise<void>((resolve, reject) =>
        of({ sab: counters.buffer, tag: 'new' })
          .pipe(runOnLoop(slow, ignoresCancel))
          .subscribe({
            next: (value) => {
              later.push(value);
              if (value === 'new-0') {
                counters.set(2, 1); // the abandoned generator wakes and yields
                setTimeout(() => counters.set(3, 1), 50);
              }
            },
            error: reject,
            complete: resolve,
          }),
      );
      await done;
      expect(later).to.deep.equal(Array.from({ length: 50 }, (_, i) => `new-${i}`));
    } finally {
      await slow.terminate();
    }
  });

  describe('bounded memory', function () {
    this.timeout(120_000);
    const count = 10_000_000;

    it(`streams ${count.toLocaleString('en-US')} values into a slow consumer with the generator at most a window ahead`, async () => {
      const counters = new SharedCounters();
      const wait = new Int32Array(new SharedArrayBuffer(4));
      await pool.run((x: number) => x, 0);
      const baseline = process.memoryUsage.rss();
      let peak = baseline;
      let consumed = 0;
      let sum = 0;
      let mostAhead = 0;
      await new Promise<void>((resolve, reject) =>
        range(0, 1)
          .pipe(
            map(() => ({ sab: counters.buffer, count })),
            offloadToThread(numbers, { pool }),
          )
          .subscribe({
            next: (value) => {
              consumed++;
              sum += value;
              mostAhead = Math.max(mostAhead, counters.get(0) - consumed);
              if (consumed % 50_000 === 0) {
                Atomics.wait(wait, 0, 0, 1); // a slow consumer, now and then
                peak = Math.max(peak, process.memoryUsage.rss());
              }
            },
            error: reject,
            complete: resolve,
          }),
      );
      peak = Math.max(peak, process.memoryUsage.rss());
      const growthMb = (peak - baseline) / 1024 / 1024;
      expect(consumed).to.equal(count);
      expect(sum).to.equal((count * (count - 1)) / 2);
      expect(mostAhead).to.be.within(256, 1025); // the credit engaged, and held
      expect(growthMb).to.be.lessThan(100);
      record('streamed values into a slow consumer', count);
      record('streaming: peak RSS growth (MB)', Math.round(growthMb * 10) / 10);
      record('streaming: most values yielded ahead of the consumer', mostAhead);
    });
  });
});
