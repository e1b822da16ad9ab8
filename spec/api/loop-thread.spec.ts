import { expect } from 'chai';
import { AbortError, ClosedError, EventLoopThread, moduleTask, WorkerCrashedError } from 'rxthreads';
import { fixture, SharedCounters } from '../helpers';

type Wait = { sab: SharedArrayBuffer; ms: number; value?: unknown };
const state = fixture('loop-state.cjs');
const wait = moduleTask<Wait, unknown>(state, 'wait');
const countSubmissions = moduleTask<null, number>(state, 'countSubmissions');

describe('EventLoopThread', () => {
  let loop: EventLoopThread;
  beforeEach(() => {
    loop = new EventLoopThread({ name: 'spec-loop' });
  });
  afterEach(() => loop.terminate());

  it('an abandoned task still reads ctx.aborted as true after its slot holds another task', async () => {
    const slow = new EventLoopThread({ cancelGraceMs: 30 });
    try {
      // [0] what the abandoned task read (1 aborted, 2 not); [1] it started; [2] its gate; [3] the later task's gate.
      const counters = new SharedCounters();
      const deaf = (input: { sab: SharedArrayBuffer; gate: number }, ctx: { aborted: boolean }) => {
        const view = new Int32Array(input.sab);
        if (input.gate === 2) {
          Atomics.store(view, 1, 1);
          Atomics.notify(view, 1);
        }
        return Promise.resolve(Atomics.waitAsync(view, input.gate, 0).value).then(() => {
          if (input.gate === 2) Atomics.store(view, 0, ctx.aborted ? 1 : 2);
          return input.gate;
        });
      };
      const ac = new AbortController();
      const abandoned = slow.submit(deaf, { sab: counters.buffer, gate: 2 }, { signal: ac.signal }).catch((e) => e);
      await counters.atLeast(1, 1);
      ac.abort();
      expect(await abandoned).to.be.instanceOf(AbortError);
      await new Promise((resolve) => setTimeout(resolve, 100)); // past cancelGraceMs: abandoned, slot freed
      const later = slow.submit(deaf, { sab: counters.buffer, gate: 3 }); // takes the freed slot
      await new Promise((resolve) => setTimeout(resolve, 20));
      counters.set(2, 1);
      await counters.atLeast(1, 0);
      expect(counters.get(0)).to.equal(1);
      counters.set(3, 1);
      expect(await later).to.equal(3);
    } finally {
      await slow.terminate();
    }
  });

  it('is ready once its loop runs, and runs submitted tasks', async () => {
    await loop.ready;
    expect(await loop.submit((x: number) => x + 1, 1)).to.equal(2);
  });

  it('runs many submitted tasks at once, interleaved: 50 tasks of 200 ms take well under a second', async () => {
    await loop.ready;
    const started = Date.now();
    const values = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        loop.submit((input: { ms: number; i: number }) => new Promise((r) => setTimeout(r, input.ms, input.i)), {
          ms: 200,
          i,
        }),
      ),
    );
    expect(values).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    expect(Date.now() - started).to.be.lessThan(900);
  });

  it('keeps a module loaded: its state counts across submissions', async () => {
    expect(await loop.submit(countSubmissions, null)).to.equal(1);
    expect(await loop.submit(countSubmissions, null)).to.equal(2);
    expect(await loop.submit(countSubmissions, null)).to.equal(3);
  });

  it('cancels one submission through its signal: AbortError at once, ctx.signal fires in the thread, others go on', async () => {
    const counters = new SharedCounters();
    const ac = new AbortController();
    const cancelled = loop
      .submit(wait, { sab: counters.buffer, ms: 60_000 }, { signal: ac.signal })
      .catch((e: Error) => e);
    const other = loop.submit(wait, { sab: counters.buffer, ms: 50, value: 'other' });
    await counters.atLeast(2);
    ac.abort();
    expect(await cancelled).to.be.instanceOf(AbortError);
    await counters.atLeast(1, 1);
    expect(await other).to.equal('other');
    expect(counters.get(1)).to.equal(1);
  });

  it('close() finishes what is in flight, refuses new work with ClosedError, then the thread exits', async () => {
    const counters = new SharedCounters();
    const inFlight = loop.submit(wait, { sab: counters.buffer, ms: 50, value: 'done' });
    const closed = loop.close();
    expect(await loop.submit((x: number) => x, 1).catch((e: Error) => e)).to.be.instanceOf(ClosedError);
    expect(await inFlight).to.equal('done');
    await closed;
    await loop.done;
  });

  it('terminate() rejects what is in flight with AbortError', async () => {
    const counters = new SharedCounters();
    const inFlight = loop.submit(wait, { sab: counters.buffer, ms: 60_000 }).catch((e: Error) => e);
    await counters.atLeast(1);
    await loop.terminate();
    expect(await inFlight).to.be.instanceOf(AbortError);
  });

  it('rejects every pending submission with WorkerCrashedError when its thread dies, and done still resolves', async () => {
    const counters = new SharedCounters();
    const pending = [1, 2, 3].map((value) =>
      loop.submit(wait, { sab: counters.buffer, ms: 60_000, value }).catch((e: Error) => e),
    );
    await counters.atLeast(3);
    const crash = loop.submit(() => process.exit(7), null).catch((e: Error) => e);
    for (const error of [...(await Promise.all(pending)), await crash]) {
      expect(error).to.be.instanceOf(WorkerCrashedError);
      expect((error as WorkerCrashedError).exitCode).to.equal(7);
    }
    await loop.done;
    expect(await loop.submit((x: number) => x, 1).catch((e: Error) => e)).to.be.instanceOf(ClosedError);
  });

  it('calls onDone callbacks and supports await using', async () => {
    let calls = 0;
    {
      await using scoped = new EventLoopThread();
      scoped.onDone(() => calls++);
      expect(await scoped.submit(() => 'hi', null)).to.equal('hi');
    }
    expect(calls).to.equal(1);
  });

  it('validates its options', () => {
    expect(() => new EventLoopThread({ name: 1 as unknown as string })).to.throw(TypeError, /`name`.*`1` \(number\)/);
  });
});
