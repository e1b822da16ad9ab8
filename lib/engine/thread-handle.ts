import type { ResourceLimits } from 'node:worker_threads';
import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';
import type { ClockReading } from '../util/clock';
import { SerializationError } from '../util/errors';
import { describeUnclonable } from '../wire/clone';
import {
  type AbandonMessage,
  type CloseMessage,
  type FromThread,
  Header,
  jobCode,
  Kind,
  type RunMessage,
  type RunMode,
  Slot,
  Stride,
  type ThreadInit,
} from '../wire/thread';
import { checkNotDetached } from '../wire/transfer';
import { spawnThread, tsNodeInit } from './local/platform';
import type { WorkerSpawnOptions } from './local/worker-options';
import type { Metrics, ThreadHistograms } from './metrics';
import type { PlatformThread } from './platform';
import { SlotTable } from './slots';

/**
 * Values a streaming job may yield ahead of the caller emitting them: enough to keep batches of
 * values flowing both ways, few enough that an unread stream holds little memory in the caller.
 */
const streamWindow = 1024;
/** Bytes of buffer inputs after which a batch is sent at once. */
const batchBytes = 1024 * 1024;

/** What a thread handle needs of a job it holds (the engine's `Job`). */
export interface HeldJob {
  readonly def: TaskDefinition;
  readonly input: unknown;
  readonly transfer: readonly Transferable[] | undefined;
  /** Ms it may run; > 0: the main thread watches its start. */
  readonly timeout: number;
  /** Set for a job whose caller takes a stream of values. */
  readonly yielded: unknown;
  readonly submittedAt: ClockReading;
  /** Its submitter's jobs, compared by identity only. */
  readonly group: { readonly inFlight: number };
  thread: ThreadHandle<HeldJob> | undefined;
  slot: number;
  /** Bytes of buffer input, counted while a thread holds the job. */
  bytes: number;
  /** Its transfer list was posted to a thread: the input is gone from here, so it can never run elsewhere. */
  moved: boolean;
}

export interface ThreadEvents<J extends HeldJob> {
  /** Where the thread's tasks' times go. */
  readonly metrics: Metrics;
  message(thread: ThreadHandle<J>, message: FromThread): void;
  /** Jobs whose input could not be sent; their slots are already free. */
  unsendable(thread: ThreadHandle<J>, failures: [J, SerializationError][]): void;
  exit(thread: ThreadHandle<J>, exitCode: number, error: Error | undefined): void;
}

/**
 * The transfer list of a batch, or `null` if one of its buffers is detached or listed twice: posting
 * it would deliver a buffer empty or silently drop the message, so each job is then sent alone.
 */
function batchTransfers(jobs: readonly HeldJob[]): Transferable[] | null {
  const list = new Set<Transferable>();
  for (const job of jobs) {
    if (job.transfer === undefined) continue;
    if (checkNotDetached(job.transfer) !== undefined) return null;
    for (const item of job.transfer) {
      if (list.has(item)) return null;
      list.add(item);
    }
  }
  return [...list];
}

/** One thread seen from the main thread: its slots, its outgoing batch and its life. */
export class ThreadHandle<J extends HeldJob> {
  readonly slots: SlotTable;
  /** The histograms this thread records its tasks' run and wait times into. */
  readonly histograms: ThreadHistograms;
  /** The job in each slot, until the thread acknowledges it. */
  readonly jobs: (J | undefined)[];
  private readonly thread: PlatformThread;
  private readonly free: number[] = [];
  inFlight = 0;
  /** Bytes of buffer input in the jobs it holds. */
  private heldBytes = 0;
  /** False once the thread is stopping or dead: it takes no more jobs. */
  alive = true;
  /** True once we asked it to stop (so its exit is no crash). */
  stopping = false;
  /** True once its loop runs (its `Ready` message arrived). */
  started = false;
  /** When the thread last sent a message, or was given work while idle (performance.now()). */
  lastHeard = 0;
  /** Why the thread was ended, for the jobs that end with it. */
  endedBecause: string | undefined;
  /** Its exit code, once it has exited (a terminated thread's is 1). */
  exitCode = 1;
  private closeTimer: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private readonly known = new Set<number>();
  /** Referenced until the thread's loop runs, for an owner that is awaited before any work. */
  private holding: boolean;
  private out: { message: RunMessage; defs: TaskDefinition[]; jobs: J[]; bytes: number } | undefined;
  private hasTransfers = false;

  constructor(
    slotCount: number,
    mode: RunMode,
    options: {
      resourceLimits?: ResourceLimits | undefined;
      name?: string | undefined;
      worker?: WorkerSpawnOptions | undefined;
    },
    private readonly events: ThreadEvents<J>,
    holdUntilReady = false,
  ) {
    this.holding = holdUntilReady;
    this.slots = new SlotTable(slotCount);
    this.jobs = new Array(slotCount);
    for (let slot = slotCount - 1; slot >= 0; slot--) this.free.push(slot);
    this.histograms = events.metrics.newThread();
    const { states, ints, times } = this.slots;
    const init: ThreadInit = {
      states: states.buffer as SharedArrayBuffer,
      ints: ints.buffer as SharedArrayBuffer,
      times: times.buffer as SharedArrayBuffer,
      recording: events.metrics.recording.buffer as SharedArrayBuffer,
      runTime: this.histograms.runTime.buffer as SharedArrayBuffer,
      waitTime: this.histograms.waitTime.buffer as SharedArrayBuffer,
      mode,
      tsNode: tsNodeInit(),
    };
    this.thread = spawnThread(
      {
        script: 'pool',
        data: init,
        resourceLimits: options.resourceLimits,
        name: options.name,
        worker: options.worker,
      },
      {
        message: (message) => this.heard(message as FromThread),
        error: (error) => {
          this.lastError = error;
        },
        exit: (code) => {
          this.alive = false;
          this.exitCode = code;
          clearTimeout(this.closeTimer);
          this.events.exit(this, code, this.lastError);
        },
      },
    );
    // After the listeners: adding a 'message' listener refs the thread's port again.
    if (!this.holding) this.thread.unref();
  }

  private heard(message: FromThread): void {
    this.lastHeard = performance.now();
    if (message[0] === Kind.Ready) {
      this.started = true;
      if (this.holding) {
        this.holding = false;
        // A thread closed before it ran stays referenced: the process waits for its exit, as
        // `close()` promised (close() referenced it).
        if (this.inFlight === 0 && !this.stopping) this.thread.unref();
      }
    }
    this.events.message(this, message);
  }

  assign(job: J): void {
    const slot = this.free.pop();
    if (slot === undefined) throw new Error('rxthreads: no free slot (internal error)');
    if (this.inFlight === 0) this.lastHeard = performance.now();
    this.jobs[slot] = job;
    // The slot is free, so no thread reads it now; the run message that follows publishes it.
    this.slots.prepare(slot, job.timeout > 0, job.yielded === undefined ? undefined : streamWindow, job.submittedAt.at);
    job.thread = this as unknown as ThreadHandle<HeldJob>;
    job.slot = slot;
    if (this.inFlight++ === 0) this.thread.ref();
    let out = this.out;
    if (out === undefined) {
      out = this.out = { message: [Kind.Run, 0], defs: [], jobs: [], bytes: 0 };
      queueMicrotask(() => this.flush());
    }
    if (!this.known.has(job.def.key)) {
      this.known.add(job.def.key);
      out.defs.push(job.def);
      out.message[1] = out.defs;
    }
    out.message.push(jobCode(slot, job.def.key), job.input);
    out.jobs.push(job);
    if (job.transfer !== undefined) this.hasTransfers = true;
    // Cloning many large buffers in one message is far slower than in several: send big inputs
    // on their own rather than in a batch.
    const input = job.input;
    if (input instanceof ArrayBuffer || ArrayBuffer.isView(input)) {
      job.bytes = input.byteLength;
      this.heldBytes += job.bytes;
      out.bytes += job.bytes;
      if (out.bytes >= batchBytes) this.flush();
    }
  }

  /**
   * Whether the thread may take another job ahead of time: fewer than `depth` jobs, and less than
   * a batch's worth of buffer input (large inputs gain nothing from waiting on a thread).
   */
  hasRoom(depth: number): boolean {
    return this.inFlight < depth && (this.heldBytes < batchBytes || this.inFlight === 0);
  }

  /** Frees a slot the thread has acknowledged; returns the job that was in it, if still tracked. */
  release(slot: number): J | undefined {
    const job = this.jobs[slot];
    this.jobs[slot] = undefined;
    if (job !== undefined) this.heldBytes -= job.bytes;
    this.free.push(slot);
    if (--this.inFlight === 0 && this.alive && !this.holding) this.thread.unref();
    return job;
  }

  /**
   * Cancels a job held by this thread. Returns true if it had not started (and now never will);
   * false if it is running, in which case its `ctx.signal` is fired.
   */
  cancel(slot: number, timeoutMs?: number): boolean {
    const slots = this.slots;
    if (slots.swap(slot, Slot.Pending, Slot.Cancelled) === Slot.Pending) return true;
    if (slots.swap(slot, Slot.Started, Slot.Aborted) === Slot.Started) {
      this.thread.postMessage(timeoutMs === undefined ? [Kind.Cancel, slot] : [Kind.Cancel, slot, timeoutMs]);
      slots.wakeForCancel(slot);
    }
    return false;
  }

  /**
   * Revokes the job in `slot` if the thread has not started it (compare-and-swap against the
   * thread's own swap to `Started`): it never will. Its slot stays taken until the thread answers
   * `Skipped`, so no slot is reused while the thread may still read it.
   */
  revoke(slot: number): boolean {
    if (this.slots.swap(slot, Slot.Pending, Slot.Revoked) !== Slot.Pending) return false;
    this.heldBytes -= this.jobs[slot]!.bytes;
    this.jobs[slot] = undefined;
    return true;
  }

  /**
   * Takes back the jobs of a thread that is being ended or has died: those it never started
   * (their words swapped to `Revoked`, so they never will) and those it started and did not
   * finish. Finished ones stay: their results may still arrive, until the thread's exit.
   */
  takeBack(): { pending: J[]; started: J[] } {
    const pending: J[] = [];
    const started: J[] = [];
    this.eachJob((job, slot) => {
      const state = this.slots.swap(slot, Slot.Pending, Slot.Revoked);
      if (state === Slot.Finished) return;
      this.forget(slot);
      if (state === Slot.Pending) pending.push(job);
      else if (state !== Slot.Cancelled) started.push(job);
    });
    return { pending, started };
  }

  /** Takes every job the thread still holds, whatever its state (it was terminated, or has exited). */
  takeAll(): J[] {
    const all: J[] = [];
    this.eachJob((job, slot) => {
      this.forget(slot);
      all.push(job);
    });
    return all;
  }

  /** The first job held that the thread has started and not finished (a pool thread runs one). */
  runningJob(): J | undefined {
    let running: J | undefined;
    this.eachJob((job, slot) => {
      if (running === undefined && this.slots.isRunning(slot)) running = job;
    });
    return running;
  }

  /** The jobs this thread holds and has not started, whose input may still go elsewhere. */
  unstarted(): J[] {
    const jobs: J[] = [];
    this.eachJob((job, slot) => {
      if (!job.moved && this.slots.state(slot) === Slot.Pending) jobs.push(job);
    });
    return jobs;
  }

  /** True if any held job has started (for `busy`). */
  get running(): boolean {
    return this.runningJob() !== undefined;
  }

  /** Jobs held but not started: of `group`, or of every group (for `queued`). */
  waitingOf(group?: HeldJob['group']): number {
    if (group?.inFlight === 0) return 0;
    let count = 0;
    this.eachJob((job, slot) => {
      if ((group === undefined || job.group === group) && this.slots.state(slot) === Slot.Pending) count++;
    });
    return count;
  }

  private eachJob(each: (job: J, slot: number) => void): void {
    const jobs = this.jobs;
    for (let slot = 0; slot < jobs.length; slot++) {
      const job = jobs[slot];
      if (job !== undefined) each(job, slot);
    }
  }

  /** Lets go of the job in a slot of a thread that will not answer for it. */
  private forget(slot: number): void {
    this.heldBytes -= this.jobs[slot]!.bytes;
    this.jobs[slot] = undefined;
    this.inFlight--;
  }

  stop(): void {
    this.alive = false;
    this.stopping = true;
    clearTimeout(this.closeTimer);
    this.thread.terminate();
  }

  /**
   * Ends the thread gracefully once it holds no job: it runs its `onThreadClose` callbacks and exits
   * by itself when its loop drains; after `graceMs` it is terminated. The process waits for it.
   */
  close(graceMs: number): void {
    this.alive = false;
    this.stopping = true;
    this.thread.ref();
    this.thread.postMessage([Kind.Close] satisfies CloseMessage);
    this.closeTimer = setTimeout(() => this.thread.terminate(), graceMs);
    this.closeTimer.unref(); // the thread itself holds the process meanwhile
  }

  /**
   * Leaves a cancelled job that still runs to itself (an event-loop thread): returns false if it
   * has finished in the meantime. The thread acknowledges with a `Skipped` outcome, freeing the slot.
   */
  abandon(slot: number): boolean {
    if (this.slots.swap(slot, Slot.Aborted, Slot.Abandoned) !== Slot.Aborted) return false;
    this.thread.postMessage([Kind.Abandon, slot] satisfies AbandonMessage);
    return true;
  }

  /** Sends the jobs assigned since the last flush as one message. */
  private flush(): void {
    const out = this.out;
    this.out = undefined;
    if (out === undefined || !this.alive) return;
    const transfers = this.hasTransfers ? batchTransfers(out.jobs) : undefined;
    this.hasTransfers = false;
    if (transfers !== null) {
      try {
        this.thread.postMessage(out.message, transfers);
        if (transfers !== undefined) for (const job of out.jobs) if (job.transfer !== undefined) job.moved = true;
        return;
      } catch {
        // Some input cannot be cloned: send the jobs one by one so only those fail.
      }
    }
    if (out.defs.length > 0) this.thread.postMessage([Kind.Run, out.defs] satisfies RunMessage);
    const failures: [J, SerializationError][] = [];
    for (let i = Header, n = 0; i < out.message.length; i += Stride, n++) {
      const job = out.jobs[n]!;
      const detached = checkNotDetached(job.transfer);
      if (detached !== undefined) {
        this.release(job.slot);
        failures.push([job, detached]);
        continue;
      }
      try {
        this.thread.postMessage([Kind.Run, 0, out.message[i], out.message[i + 1]] satisfies RunMessage, job.transfer);
        if (job.transfer !== undefined) job.moved = true;
      } catch (error) {
        this.release(job.slot);
        const reason = describeUnclonable('input', job.input, error);
        failures.push([
          job,
          new SerializationError(`The task's input could not be cloned to the thread: ${reason}`, { cause: error }),
        ]);
      }
    }
    if (failures.length > 0) this.events.unsendable(this, failures);
  }
}
