import type { MessagePort } from 'node:worker_threads';
import { expect } from 'chai';
import { IdleSpin } from '../../lib/thread/idle-spin';
import { JobRunner } from '../../lib/thread/job-runner';
import type { Loaded, TaskLoader } from '../../lib/thread/loader';
import { SequentialMode } from '../../lib/thread/modes';
import { Outbox } from '../../lib/thread/outbox';
import { histogramBuffer, summarize } from '../../lib/util/histogram';
import { jobCode, Kind, type RunMessage } from '../../lib/wire/thread';
import { poolInts, SlotInt, SlotTime, slotInts, slotTimes, threadInts, threadTimes } from '../../lib/wire/words';

/**
 * A pool thread's loop, run here on a fake clock: each value of a job of several "takes" the time
 * its task adds to the clock, and every `performance.now()` is counted. What the thread records in
 * its histograms must be what timing each value alone would record, with far fewer readings.
 */
class FakeThread {
  now = 1_000;
  readings = 0;
  /** What a message costs to post, on the fake clock (ms). */
  postMs = 0;
  private readonly realNow = performance.now;
  readonly runTime = new Float64Array(histogramBuffer());
  readonly waitTime = new Float64Array(histogramBuffer());
  private readonly states: Int32Array;
  private readonly ints: Int32Array;
  private readonly times: Float64Array;
  private readonly mode: SequentialMode;

  constructor(task: (x: number) => number) {
    const slots = 16;
    const init = {
      states: new SharedArrayBuffer(4 * slots),
      ints: new SharedArrayBuffer(4 * (slots * slotInts + threadInts)),
      times: new SharedArrayBuffer(8 * (slots * slotTimes + threadTimes)),
      recording: new SharedArrayBuffer(4),
      runTime: this.runTime.buffer as SharedArrayBuffer,
      waitTime: this.waitTime.buffer as SharedArrayBuffer,
      mode: 'sequential' as const,
      pool: new SharedArrayBuffer(4 * poolInts),
      // This clock stands still: a thread must not spin for work by it.
      spinBelow: 0,
      awakeBit: 0,
      tsNode: undefined,
    };
    new Int32Array(init.recording)[0] = 1;
    this.states = new Int32Array(init.states);
    this.ints = new Int32Array(init.ints);
    this.times = new Float64Array(init.times);
    const loaded = { fn: task } as unknown as Loaded;
    const loader = { ready: () => loaded } as unknown as TaskLoader;
    const port = { postMessage: () => (this.now += this.postMs) } as unknown as MessagePort;
    const outbox = new Outbox(port);
    this.mode = new SequentialMode(new JobRunner(init, loader, outbox), outbox, () => {}, new IdleSpin(init));
    Object.defineProperty(performance, 'now', {
      configurable: true,
      value: () => {
        this.readings++;
        return this.now;
      },
    });
  }

  restore(): void {
    Object.defineProperty(performance, 'now', { configurable: true, value: this.realNow });
  }

  /** Runs jobs of several values, all submitted now, in slots 0, 1, …; resolves once they ran. */
  async run(jobs: number[][]): Promise<void> {
    const message: RunMessage = [Kind.Run, 0];
    for (const [slot, values] of jobs.entries()) {
      this.states[slot] = 0;
      this.ints[slot * slotInts + SlotInt.Values] = values.length;
      this.times[slot * slotTimes + SlotTime.SubmittedAt] = performance.timeOrigin + this.now;
      message.push(jobCode(slot, 1), Float64Array.from(values));
    }
    this.mode.take(message);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const tinyMs = 0.0001;
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe('timing of jobs of several values (thread side, fake clock)', () => {
  let thread: FakeThread | undefined;
  afterEach(() => thread?.restore());

  it('times tiny values in groups, and records each as timing it alone would: 1 µs', async () => {
    const fake = new FakeThread((x) => {
      fake.now += tinyMs;
      return x + 1;
    });
    thread = fake;
    await fake.run([range(250), range(250, 250), range(250, 500), range(250, 750)]);
    thread.restore();
    const run = summarize(fake.runTime);
    expect(run).to.deep.equal({ count: 1000, mean: 0.001, p50: 0.001, p90: 0.001, p99: 0.001, max: 0.001 });
    expect(summarize(fake.waitTime).count).to.equal(1000);
    // Grouped: far fewer readings than values (one per value would be 1,000 and more).
    expect(fake.readings).to.be.below(400);
  });

  it('records a slow value among tiny ones once, with its time', async () => {
    const fake = new FakeThread((x) => {
      fake.now += x === 400 ? 20 : tinyMs;
      return x + 1;
    });
    thread = fake;
    await fake.run([range(250), range(250, 250), range(250, 500), range(250, 750)]);
    thread.restore();
    const run = summarize(fake.runTime);
    expect(run.count).to.equal(1000);
    expect(run.max).to.be.within(20, 20.01);
    expect(run.p99).to.equal(0.001);
    // 20 ms once, and 999 values of 1 µs.
    expect(run.mean * run.count).to.be.closeTo(20 + 0.999, 0.01);
  });

  it('counts sending outcomes between two values in neither value’s time', async () => {
    const fake = new FakeThread((x) => {
      fake.now += tinyMs;
      return x + 1;
    });
    thread = fake;
    fake.postMs = 5;
    await fake.run([range(250), range(250, 250), range(250, 500), range(250, 750)]);
    thread.restore();
    const run = summarize(fake.runTime);
    expect(run.count).to.equal(1000);
    expect(run.max).to.equal(0.001);
  });

  it('records each value’s wait from its submission to its group’s start, within the group’s length', async () => {
    const fake = new FakeThread((x) => {
      fake.now += 0.0002;
      return x + 1;
    });
    thread = fake;
    await fake.run([range(1000)]);
    thread.restore();
    const wait = summarize(fake.waitTime);
    expect(wait.count).to.equal(1000);
    // The last value starts 999 × 0.2 µs after the job's submission (and the histogram holds whole µs).
    expect(wait.max).to.be.within(0.1998 - 0.0015, 0.2);
  });
});
