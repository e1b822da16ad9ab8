import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { take, toArray } from 'rxjs/operators';
import { moduleTask, offloadFrom, TaskError, ThreadPool } from 'rxthreads';
import { fixture, SharedCounters } from '../../helpers';

const spinUntilAborted = moduleTask<{ sab: SharedArrayBuffer }, string>(fixture('tasks.cjs'), 'spinUntilAborted');

describe('offloadFrom', () => {
  let pool: ThreadPool;
  beforeEach(() => {
    pool = new ThreadPool({ size: 2 });
  });
  afterEach(() => pool.terminate());

  it('completes an empty iterable with no values', async () => {
    expect(await lastValueFrom(offloadFrom([], (x: number) => x, { pool }).pipe(toArray()))).to.deep.equal([]);
  });

  it('maps one value, and many values exactly once in order, from a sync or an async iterable', async () => {
    expect(await lastValueFrom(offloadFrom([4], (x: number) => x * x, { pool }))).to.equal(16);
    async function* numbers() {
      for (let i = 0; i < 2000; i++) yield i;
    }
    const out = await lastValueFrom(offloadFrom(numbers(), (x: number) => x + 1, { pool }).pipe(toArray()));
    expect(out).to.deep.equal(Array.from({ length: 2000 }, (_, i) => i + 1));
  });

  it('reads the source only as capacity frees: never more than highWaterMark ahead of what was emitted', async () => {
    let produced = 0;
    let emitted = 0;
    let maxAhead = 0;
    function* source() {
      for (let i = 0; i < 20_000; i++) {
        produced++;
        maxAhead = Math.max(maxAhead, produced - emitted);
        yield new Uint8Array(1024).fill(i & 0xff);
      }
    }
    const sizes = offloadFrom(source(), (bytes: Uint8Array) => bytes[0]! + bytes.length, {
      pool,
      highWaterMark: 64,
      ordered: false,
    });
    let total = 0;
    await new Promise<void>((resolve, reject) =>
      sizes.subscribe({
        next: (v) => {
          emitted++;
          total += v;
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(emitted).to.equal(20_000);
    expect(maxAhead).to.be.at.most(64);
    expect(total).to.equal(Array.from({ length: 20_000 }, (_, i) => (i & 0xff) + 1024).reduce((a, b) => a + b, 0));
  });

  it('forwards an error thrown by the source', async () => {
    function* failing() {
      yield 1;
      throw new Error('source broke');
    }
    const error = await lastValueFrom(offloadFrom(failing(), (x: number) => x, { pool })).catch((e: Error) => e);
    expect((error as Error).message).to.equal('source broke');
  });

  it('errors with TaskError when a task throws', async () => {
    const error = await lastValueFrom(
      offloadFrom(
        [1, 2, 3],
        (x: number) => {
          if (x === 2) throw new TypeError('two');
          return x;
        },
        { pool },
      ),
    ).catch((e: Error) => e);
    expect(error).to.be.instanceOf(TaskError);
  });

  it('on unsubscribe stops reading (the iterator returns) and cancels running tasks', async () => {
    const counters = new SharedCounters();
    let closed = false;
    async function* endless() {
      try {
        for (;;) yield { sab: counters.buffer };
      } finally {
        closed = true;
      }
    }
    const sub = offloadFrom(endless(), spinUntilAborted, { pool, highWaterMark: 4 }).subscribe();
    await counters.atLeast(2);
    sub.unsubscribe();
    await counters.atLeast(2, 1); // both running tasks saw their cancel
    while (!closed) await new Promise((r) => setTimeout(r, 1));
    expect(counters.get(0)).to.equal(2);
  });

  it('with take(n), emits n values and closes the source', async () => {
    let closed = false;
    function* naturals() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    expect(
      await lastValueFrom(offloadFrom(naturals(), (x: number) => x * 2, { pool }).pipe(take(5), toArray())),
    ).to.deep.equal([0, 2, 4, 6, 8]);
    expect(closed).to.equal(true);
  });

  it("takes a string's characters as its values, as RxJS's from does", async () => {
    expect(await lastValueFrom(offloadFrom('ab', (c: string) => c + c, { pool }).pipe(toArray()))).to.deep.equal([
      'aa',
      'bb',
    ]);
  });

  it('validates its arguments', () => {
    expect(() => offloadFrom(3 as unknown as number[], (x: number) => x)).to.throw(
      TypeError,
      /`source`.*`3` \(number\)/,
    );
    expect(() => offloadFrom([1], (x: number) => x, { highWaterMark: 0 })).to.throw(TypeError, /`highWaterMark`.*`0`/);
  });
});
