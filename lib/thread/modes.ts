import { Header, Kind, keyOfJob, type RunMessage, type RunNumbersMessage, Stride, slotOfJob } from '../wire/thread';
import { SlotInt, slotInts, ThreadInt, threadIntsAt } from '../wire/words';
import type { IdleSpin } from './idle-spin';
import type { JobRunner } from './job-runner';
import type { Outbox } from './outbox';
import { TinyWork } from './tiny-work';
import { type ValuesLoop, ValuesRun } from './values-run';

/**
 * Finished outcomes of tiny jobs held for one results message at most, and how long the oldest
 * may wait (ms). A message may wake the main thread, which costs each side tens of µs on a busy
 * VM: 1,024 tiny values (about 0.15 ms of a thread's time) share one.
 */
const holdOutcomes = 1024;
const holdMs = 0.2;

/** A `run` message, flat or with its numbers packed. */
export type Batch = RunMessage | RunNumbersMessage;

/** How many jobs a batch holds, and each one's code and input. */
function jobsOf(batch: Batch): number {
  return batch[0] === Kind.RunNumbers ? batch[2].length : (batch.length - Header) / Stride;
}
function codeOf(batch: Batch, n: number): number {
  return batch[0] === Kind.RunNumbers ? batch[2][n]! : (batch[Header + n * Stride] as number);
}
function inputOf(batch: Batch, n: number): unknown {
  return batch[0] === Kind.RunNumbers ? batch[3][n] : batch[Header + n * Stride + 1];
}

/** How a thread runs the jobs of the `run` messages it receives. */
export interface ThreadMode {
  take(batch: Batch): void;
}

/** A pool thread: one job at a time, in order. */
export class SequentialMode implements ThreadMode, ValuesLoop {
  private readonly batches: Batch[] = [];
  private draining = false;
  /** Per task: whether its jobs are proven tiny, so that finished results may wait for the next job. */
  private readonly tinyTasks = new Map<number, TinyWork>();
  /** Per-slot Int32 fields, and the thread's halt word at `haltAt`. */
  private readonly ints: Int32Array;
  private readonly haltAt: number;

  /** `takeWaiting` handles the message that already waits in the thread's port, if there is one. */
  constructor(
    readonly runner: JobRunner,
    readonly outbox: Outbox,
    private readonly takeWaiting: () => void,
    private readonly spin: IdleSpin,
  ) {
    this.ints = runner.ints;
    this.haltAt = threadIntsAt(this.ints) + ThreadInt.Halt;
  }

  take(batch: Batch): void {
    this.batches.push(batch);
    if (this.draining) return;
    this.spin.woke();
    void this.drain();
  }

  /** Handles a message already waiting in the port; true if the thread has jobs to run. */
  private readonly arrived = (): boolean => {
    this.takeWaiting();
    return this.batches.length > 0;
  };

  private tinyWorkOf(key: number): TinyWork {
    let work = this.tinyTasks.get(key);
    if (work === undefined) {
      work = new TinyWork();
      this.tinyTasks.set(key, work);
    }
    return work;
  }

  private async whileHalted(): Promise<void> {
    const { ints, haltAt } = this;
    this.outbox.flush();
    while (Atomics.load(ints, haltAt) !== 0) await Atomics.waitAsync(ints, haltAt, 1).value;
  }

  halted(): Promise<void> | undefined {
    // The main thread is deciding whether to end this thread: start nothing until it is done.
    return Atomics.load(this.ints, this.haltAt) !== 0 ? this.whileHalted() : undefined;
  }

  /**
   * Whether finished results must go out before a job starts: yes, unless that job's task has
   * proven tiny: a job of unknown length must never hold finished results back (a take(n)
   * downstream may be waiting for them to cancel this very job). Nor may a job with a timeout: if
   * it ran past it, the thread would be ended with those results still in it.
   */
  mustFlush(tiny: TinyWork, slot: number, now: number): boolean {
    const outbox = this.outbox;
    return (
      outbox.values > 0 &&
      (!tiny.proven ||
        this.ints[slot * slotInts + SlotInt.Watched] !== 0 ||
        outbox.values >= holdOutcomes ||
        now - outbox.since >= holdMs)
    );
  }

  private async drain(): Promise<void> {
    this.draining = true;
    // Read once: the loop below runs for every job.
    const { batches, runner, outbox, ints } = this;
    let ran: number;
    do {
      ran = await this.runBatches(batches, runner, outbox, ints);
      outbox.flush();
      // Out of jobs, outcomes sent: after a lone value, wait a moment for more, awake (see IdleSpin).
    } while (this.spin.waitForWork(this.arrived, ran === 1));
    this.draining = false;
  }

  /** Runs the jobs of every batch there is, and of those that come meanwhile; returns how many values they held. */
  private async runBatches(batches: Batch[], runner: JobRunner, outbox: Outbox, ints: Int32Array): Promise<number> {
    let ran = 0;
    while (batches.length > 0) {
      const batch = batches[0]!;
      const count = jobsOf(batch);
      for (let n = 0; n < count; n++) {
        const code = codeOf(batch, n);
        const key = keyOfJob(code);
        const slot = slotOfJob(code);
        const tiny = this.tinyWorkOf(key);
        if (this.mustFlush(tiny, slot, performance.now())) outbox.flush();
        const halted = this.halted();
        if (halted !== undefined) await halted;
        const values = ints[slot * slotInts + SlotInt.Values]!;
        ran += values === 0 ? 1 : values;
        const pending =
          values === 0
            ? runner.start(slot, key, inputOf(batch, n))
            : this.startValues(slot, key, inputOf(batch, n) as ArrayLike<unknown>, tiny);
        if (pending !== undefined) {
          // Results so far go out if the task really waits (I/O), not for a task that resolves at once.
          outbox.flushSoon();
          await pending;
        }
        if (values === 0) tiny.record(runner.clock.lastJobMs);
      }
      batches.shift();
      // Take jobs that already wait in the port now rather than after a round trip through the
      // event loop: their results then share messages with these, and batches stay large.
      if (batches.length === 0) this.takeWaiting();
    }
    return ran;
  }

  /** Starts a job of several values (see `ValuesRun`); returns a promise only if it did not end synchronously. */
  private startValues(
    slot: number,
    key: number,
    inputs: ArrayLike<unknown>,
    tiny: TinyWork,
  ): Promise<void> | undefined {
    const started = performance.now();
    if (!this.runner.begin(slot, started)) return undefined;
    const loaded = this.runner.loaded(key);
    if (!(loaded instanceof Promise)) return new ValuesRun(this, loaded, tiny, slot, key, inputs, started).run();
    return loaded.then((ready) => new ValuesRun(this, ready, tiny, slot, key, inputs, started).run());
  }
}

/** An event-loop thread: every job at once, interleaved on the thread's event loop. */
export class ConcurrentMode implements ThreadMode {
  constructor(
    private readonly runner: JobRunner,
    private readonly outbox: Outbox,
  ) {}

  take(batch: Batch): void {
    const { runner, outbox } = this;
    const count = jobsOf(batch);
    for (let n = 0; n < count; n++) {
      const code = codeOf(batch, n);
      const pending = runner.start(slotOfJob(code), keyOfJob(code), inputOf(batch, n));
      if (pending !== undefined) void pending.then(outbox.flushSoon);
    }
    outbox.flushSoon();
  }
}
