import { expect } from 'chai';
import { EMPTY, firstValueFrom, from, lastValueFrom, NEVER, range, Subject } from 'rxjs';
import { concatWith, map, take, toArray } from 'rxjs/operators';
import {
  defaultPool,
  EventLoopThread,
  moduleTask,
  offloadToThread,
  runOnLoop,
  SerializationError,
  TaskError,
  WorkerCrashedError,
} from 'rxthreads';
import { fixture, grace, SharedCounters, valuesWhileOpen } from '../../helpers';

type Wait = { sab: SharedArrayBuffer; ms: number; value?: unknown };
const state = fixture('loop-state.cjs');
const wait = moduleTask<Wait, unknown>(state, 'wait');
const forever = moduleTask<unknown, never>(state, 'forever');

describe('runOnLoop', () => {
  let loop: EventLoopThread;
  beforeEach(() => {
    loop = new EventLoopThread();
  });
  afterEach(() => loop.terminate());

  it('completes an empty source with no values', async () => {
    expect(
      await lastValueFrom(
        EMPTY.pipe(
          runOnLoop(loop, (x: number) => x),
          toArray(),
        ),
      ),
    ).to.deep.equal([]);
  });

  it('stays open on a never-ending source until unsubscribed', async () => {
    const out$ = range(1, 2).pipe(
      concatWith(NEVER),
      runOnLoop(loop, (x: number) => x + 1),
    );
    expect(await valuesWhileOpen(out$, 2)).to.deep.equal([2, 3]);
  });

  it('maps one value', async () => {
    expect(await firstValueFrom(range(3, 1).pipe(runOnLoop(loop, (x: number) => x * 3)))).to.equal(9);
  });

  it('maps many values exactly once, in source order, running them at once', async () => {
    const counters = new SharedCounters();
    const started = Date.now();
    const out = await lastValueFrom(
      range(0, 40).pipe(
        map((value) => ({ sab: counters.buffer, ms: 150 - value * 3, value })),
        runOnLoop(loop, wait),
        toArray(),
      ),
    );
    expect(out).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
    expect(Date.now() - started).to.be.lessThan(1_000); // 40 waits of up to 150 ms overlapped
  });

  it('emits in completion order when ordered is false', async () => {
    const counters = new SharedCounters();
    const out = await lastValueFrom(
      range(0, 3).pipe(
        map((i) => ({ sab: counters.buffer, ms: [120, 10, 60][i]!, value: i })),
        runOnLoop(loop, wait, { ordered: false }),
        toArray(),
      ),
    );
    expect(out).to.deep.equal([1, 2, 0]);
  });

  it('keeps at most `concurrency` tasks of the subscription on the loop', async () => {
    const counters = new SharedCounters();
    const sub = range(0, 10)
      .pipe(
        map((value) => ({ sab: counters.buffer, ms: 60_000, value })),
        runOnLoop(loop, wait, { concurrency: 3 }),
      )
      .subscribe();
    await counters.atLeast(3);
    await grace();
    expect(counters.get(0)).to.equal(3);
    sub.unsubscribe();
    await counters.atLeast(3, 1); // all three saw their cancel
  });

  it('errors with TaskError when a task throws, and cancels its siblings on the loop', async () => {
    const counters = new SharedCounters();
    const error = await lastValueFrom(
      range(0, 3).pipe(
        map((value) => ({ sab: counters.buffer, ms: value === 2 ? 0 : 60_000, value })),
        runOnLoop(loop, (input: Wait & { value: number }, ctx) => {
          if (input.value === 2) return Promise.reject(new SyntaxError('bad'));
          const counters = new Int32Array(input.sab);
          Atomics.add(counters, 0, 1);
          return new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => {
              Atomics.add(counters, 1, 1);
              reject(ctx.signal.reason);
            }),
          );
        }),
      ),
    ).catch((e: Error) => e);
    expect(error).to.be.instanceOf(TaskError);
    expect((error as TaskError).cause.name).to.equal('SyntaxError');
    await counters.atLeast(2, 1);
  });

  it('forwards a source error after cancelling in-flight work', async () => {
    const counters = new SharedCounters();
    const source = new Subject<Wait>();
    const result = lastValueFrom(source.pipe(runOnLoop(loop, wait))).catch((e: Error) => e);
    source.next({ sab: counters.buffer, ms: 60_000 });
    await counters.atLeast(1);
    source.error(new Error('upstream'));
    expect(((await result) as Error).message).to.equal('upstream');
    await counters.atLeast(1, 1);
  });

  it('on unsubscribe fires ctx.signal for its own tasks only; the loop serves others', async () => {
    const counters = new SharedCounters();
    const sub = range(0, 2)
      .pipe(
        map((value) => ({ sab: counters.buffer, ms: 60_000, value })),
        runOnLoop(loop, wait),
      )
      .subscribe();
    const other = loop.submit(wait, { sab: counters.buffer, ms: 100, value: 'served' });
    await counters.atLeast(3);
    sub.unsubscribe();
    await counters.atLeast(2, 1);
    expect(await other).to.equal('served');
    expect(counters.get(1)).to.equal(2);
  });

  it('with take(n), emits n values and cancels the rest', async () => {
    const counters = new SharedCounters();
    const out = await lastValueFrom(
      range(0, 5).pipe(
        map((value) => ({ sab: counters.buffer, ms: value < 2 ? 0 : 60_000, value })),
        runOnLoop(loop, wait),
        take(2),
        toArray(),
      ),
    );
    expect(out).to.deep.equal([0, 1]);
    await counters.atLeast(3, 1); // the three long waits were cancelled
  });

  it('fails an unclonable value with SerializationError', async () => {
    const failure = await lastValueFrom(
      range(0, 1).pipe(
        map(() => Symbol('nope')),
        runOnLoop(loop, (x: unknown) => x),
      ),
    ).catch((e: Error) => e);
    expect(failure).to.be.instanceOf(SerializationError);
  });

  it('keeps long-lived work off the default pool: never-settling loop tasks do not hold its threads', async () => {
    const stuck = range(0, 5).pipe(runOnLoop(loop, forever)).subscribe();
    const out = await lastValueFrom(
      range(0, 200).pipe(
        offloadToThread((x: number) => x * 2),
        toArray(),
      ),
    );
    expect(out).to.deep.equal(Array.from({ length: 200 }, (_, i) => i * 2));
    expect(defaultPool().stats()).to.include({ busy: 0, queued: 0 });
    stuck.unsubscribe();
  });

  it('with settle, settles every value, those still waiting too, when its loop thread dies', async () => {
    type Act = { sab: SharedArrayBuffer; id: number; kind: string; ms: number };
    const act = moduleTask<Act, number>(fixture('faults.cjs'), 'act');
    const sab = new SharedArrayBuffer(40);
    const values = ['tiny', 'exit', 'tiny', 'tiny', 'tiny', 'tiny', 'tiny'].map((kind, id) => ({
      sab,
      id,
      kind,
      ms: 0,
    }));
    const out = await lastValueFrom(
      from(values).pipe(runOnLoop(loop, act, { settle: true, concurrency: 1 }), toArray()),
    );
    expect(out.map((entry) => `${entry.input.id}:${entry.status}`)).to.deep.equal([
      '0:fulfilled',
      '1:rejected',
      '2:rejected',
      '3:rejected',
      '4:rejected',
      '5:rejected',
      '6:rejected',
    ]);
    const waited = out[2] as { reason: Error };
    expect(waited.reason).to.be.instanceOf(WorkerCrashedError);
    expect(waited.reason.message).to.match(
      /^The thread this task was submitted to died \(.*\) before the task started$/,
    );
  });

  it('validates its arguments', () => {
    expect(() => runOnLoop({} as EventLoopThread, (x: number) => x)).to.throw(TypeError, /`loop`/);
    expect(() => runOnLoop(loop, (x: number) => x, { concurrency: 0 })).to.throw(TypeError, /`concurrency`.*`0`/);
  });
});
