import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ResourceLimits, type Worker, type WorkerOptions, Worker as WorkerThread } from 'node:worker_threads';
import { type Transferable, transferList } from '../../task/context';
import type { TaskDefinition } from '../../task/definition';
import { SerializationError } from '../../util/errors';
import { describeUnclonable } from '../../wire/clone';
import {
  type AbandonMessage,
  type CloseMessage,
  type FromThread,
  Header,
  jobCode,
  Kind,
  maxSlots,
  type RunMessage,
  type RunMode,
  Slot,
  SlotInt,
  SlotTime,
  Stride,
  slotInts,
  slotTimes,
  type ThreadInit,
  ThreadInt,
  ThreadTime,
  threadInts,
  threadTimes,
} from '../../wire/thread';
import { checkNotDetached } from '../../wire/transfer';
import type { Group, Job } from '../job';
import type { Metrics, ThreadHistograms } from '../metrics';
import type { WorkerSpawnOptions } from './worker-options';

const entry = join(__dirname, '..', '..', 'thread', 'entry.js');
/**
 * Values a streaming job may yield ahead of the caller emitting them: enough to keep batches of
 * values flowing both ways, few enough that an unread stream holds little memory in the caller.
 */
const streamWindow = 1024;
/** Bytes of buffer inputs after which a batch is sent at once. */
const batchBytes = 1024 * 1024;

let tsNode: ThreadInit['tsNode'] | null = null;
/** If this process runs under ts-node, what a thread needs to register it for `.ts` task modules. */
export function tsNodeInit(): ThreadInit['tsNode'] {
  if (tsNode !== null) return tsNode;
  tsNode = undefined;
  const instance = (process as unknown as Record<symbol, { configFilePath?: unknown } | undefined>)[
    Symbol.for('ts-node.register.instance')
  ];
  if (instance !== undefined) {
    for (const paths of [[process.cwd()], undefined]) {
      try {
        const path = require.resolve('ts-node', paths && { paths });
        const options: Record<string, unknown> = { transpileOnly: true };
        if (typeof instance.configFilePath === 'string') options.project = instance.configFilePath;
        tsNode = { path, options };
        break;
      } catch {
        // try the next place
      }
    }
  }
  return tsNode;
}

/**
 * The caller's Node flags less ts-node's, or `undefined` when there is nothing to take out: threads
 * register ts-node themselves, only when they load a `.ts` task module, rather than each paying
 * for TypeScript at start-up.
 */
function execArgvWithoutTsNode(): string[] | undefined {
  const argv: string[] = [];
  const flags = process.execArgv;
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    if ((flag === '-r' || flag === '--require') && /^ts-node\/register/.test(flags[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^(-r|--require)=ts-node\/register/.test(flag)) continue;
    argv.push(flag);
  }
  return argv.length === flags.length ? undefined : argv;
}

const found = new Set<string>();

/** Starts a worker thread on an rxthreads entry script, with the caller's flags less ts-node's. */
export function startWorker(filename: string, options: WorkerOptions): Worker {
  if (!found.has(filename)) {
    if (!existsSync(filename)) {
      throw new Error(
        `rxthreads could not find its thread script ${filename}, which ships in the rxthreads package. ` +
          'An app bundled into one file (esbuild, webpack, rollup) leaves it behind: keep rxthreads external ' +
          '(not bundled), as docs/toolchains.md explains',
      );
    }
    found.add(filename);
  }
  if (options.execArgv !== undefined) return new WorkerThread(filename, options); // the caller's choice, as given
  let execArgv = execArgvWithoutTsNode();
  for (let attempt = 0; execArgv !== undefined && attempt < 2; attempt++) {
    try {
      return new WorkerThread(filename, { ...options, execArgv });
    } catch (error) {
      // Flags given explicitly are checked, and a thread refuses some (V8's, such as --expose-gc),
      // which Node drops by itself from inherited ones. Drop those it names and try again; failing
      // that, inherit every flag, ts-node's included.
      if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
      const refused = new Set(/flags: (.*)$/.exec((error as Error).message)?.[1]?.split(', ') ?? []);
      execArgv = refused.size > 0 ? execArgv.filter((flag) => !refused.has(flag)) : undefined;
    }
  }
  return new WorkerThread(filename, options);
}

/**
 * The transfer list of a batch, or `null` if one of its buffers is detached or listed twice: posting
 * it would deliver a buffer empty or silently drop the message, so each job is then sent alone.
 */
function batchTransfers(jobs: readonly Job[]): Transferable[] | null {
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

export interface ThreadEvents {
  /** Where the thread's tasks' times go. */
  readonly metrics: Metrics;
  message(thread: ThreadHandle, message: FromThread): void;
  /** Jobs whose input could not be sent; their slots are already free. */
  unsendable(thread: ThreadHandle, failures: [Job, SerializationError][]): void;
  exit(thread: ThreadHandle, exitCode: number, error: Error | undefined): void;
}

/** One worker thread seen from the main thread: its slots, its outgoing batch and its life. */
export class ThreadHandle {
  readonly worker: Worker;
  readonly states: Int32Array;
  /** Per-slot Int32 fields ({@link SlotInt}). */
  readonly ints: Int32Array;
  /** Per-slot times written by the thread ({@link SlotTime}). */
  readonly times: Float64Array;
  /** The histograms this thread records its tasks' run and wait times into. */
  readonly histograms: ThreadHistograms;
  /** The job in each slot, until the thread acknowledges it. */
  readonly jobs: (Job | undefined)[];
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
  private readonly haltAt: number;
  private closeTimer: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private readonly known = new Set<number>();
  /** Referenced until the thread's loop runs, for an owner that is awaited before any work. */
  private holding: boolean;
  private out: { message: RunMessage; defs: TaskDefinition[]; jobs: Job[]; bytes: number } | undefined;
  private hasTransfers = false;

  constructor(
    readonly slotCount: number,
    mode: RunMode,
    options: {
      resourceLimits?: ResourceLimits | undefined;
      name?: string | undefined;
      worker?: WorkerSpawnOptions | undefined;
    },
    private readonly events: ThreadEvents,
    holdUntilReady = false,
  ) {
    this.holding = holdUntilReady;
    if (slotCount > maxSlots) throw new Error(`rxthreads: ${slotCount} slots per thread, more than ${maxSlots}`);
    const states = new SharedArrayBuffer(slotCount * Int32Array.BYTES_PER_ELEMENT);
    this.states = new Int32Array(states);
    this.haltAt = slotCount * slotInts + ThreadInt.Halt;
    const ints = new SharedArrayBuffer((slotCount * slotInts + threadInts) * Int32Array.BYTES_PER_ELEMENT);
    this.ints = new Int32Array(ints);
    const times = new SharedArrayBuffer((slotCount * slotTimes + threadTimes) * Float64Array.BYTES_PER_ELEMENT);
    this.times = new Float64Array(times);
    this.times[slotCount * slotTimes + ThreadTime.BusySince] = -1;
    this.jobs = new Array(slotCount);
    for (let slot = slotCount - 1; slot >= 0; slot--) this.free.push(slot);
    this.histograms = events.metrics.newThread();
    const init: ThreadInit = {
      states,
      ints,
      times,
      recording: events.metrics.recording.buffer as SharedArrayBuffer,
      runTime: this.histograms.runTime.buffer as SharedArrayBuffer,
      waitTime: this.histograms.waitTime.buffer as SharedArrayBuffer,
      mode,
      tsNode: tsNodeInit(),
    };
    this.worker = startWorker(entry, {
      workerData: init,
      ...(options.resourceLimits && { resourceLimits: options.resourceLimits }),
      ...(options.name && { name: options.name }),
      ...options.worker,
    });
    this.worker.on('message', (message: FromThread) => {
      this.lastHeard = performance.now();
      if (message[0] === Kind.Ready) {
        this.started = true;
        if (this.holding) {
          this.holding = false;
          // A thread closed before it ran stays referenced: the process waits for its exit, as
          // `close()` promised (close() referenced it).
          if (this.inFlight === 0 && !this.stopping) this.worker.unref();
        }
      }
      this.events.message(this, message);
    });
    this.worker.on('error', (error) => {
      this.lastError = error;
    });
    this.worker.on('exit', (code) => {
      this.alive = false;
      this.exitCode = code;
      clearTimeout(this.closeTimer);
      this.events.exit(this, code, this.lastError);
    });
    // After the listeners: adding a 'message' listener refs the thread's port again.
    if (!this.holding) this.worker.unref();
  }

  assign(job: Job): void {
    const slot = this.free.pop();
    if (slot === undefined) throw new Error('rxthreads: no free slot (internal error)');
    if (this.inFlight === 0) this.lastHeard = performance.now();
    this.jobs[slot] = job;
    Atomics.store(this.states, slot, Slot.Pending);
    // The slot is free, so no thread reads these now; the run message that follows publishes them.
    const at = slot * slotInts;
    const ints = this.ints;
    const watched = job.timeout > 0 ? 1 : 0;
    if (ints[at + SlotInt.Watched] !== watched) ints[at + SlotInt.Watched] = watched;
    const streams = job.yielded === undefined ? 0 : 1;
    if (ints[at + SlotInt.Streams] !== streams) ints[at + SlotInt.Streams] = streams;
    const credit = streams * streamWindow;
    if (ints[at + SlotInt.Credit] !== credit) ints[at + SlotInt.Credit] = credit;
    const times = this.times;
    const timesAt = slot * slotTimes;
    times[timesAt + SlotTime.SubmittedAt] = job.submittedAt.at;
    if (streams !== 0) {
      times[timesAt + SlotTime.PausedMs] = 0;
      times[timesAt + SlotTime.PausedSince] = 0;
    }
    job.thread = this;
    job.slot = slot;
    if (this.inFlight++ === 0) this.worker.ref();
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
  release(slot: number): Job | undefined {
    const job = this.jobs[slot];
    this.jobs[slot] = undefined;
    if (job !== undefined) this.heldBytes -= job.bytes;
    this.free.push(slot);
    if (--this.inFlight === 0 && this.alive && !this.holding) this.worker.unref();
    return job;
  }

  /**
   * Cancels a job held by this thread. Returns true if it had not started (and now never will);
   * false if it is running, in which case its `ctx.signal` is fired.
   */
  cancel(slot: number, timeoutMs?: number): boolean {
    if (Atomics.compareExchange(this.states, slot, Slot.Pending, Slot.Cancelled) === Slot.Pending) return true;
    if (Atomics.compareExchange(this.states, slot, Slot.Started, Slot.Aborted) === Slot.Started) {
      this.worker.postMessage(timeoutMs === undefined ? [Kind.Cancel, slot] : [Kind.Cancel, slot, timeoutMs]);
      // A streaming job may be waiting for credit, or about to: a notify alone could come just
      // before it waits, and be missed. The word it waits on changes, so that its wait ends at once
      // (or never begins) and it sees the cancel.
      const credit = slot * slotInts + SlotInt.Credit;
      Atomics.add(this.ints, credit, 1);
      Atomics.notify(this.ints, credit);
    }
    return false;
  }

  /** Gives a streaming job in `slot` credit for `values` more values, waking it if it waits. */
  grant(slot: number, values: number): void {
    const at = slot * slotInts + SlotInt.Credit;
    Atomics.add(this.ints, at, values);
    Atomics.notify(this.ints, at);
  }

  /** When the job in `slot` started, in ms since the epoch (valid once the slot is `Started`). */
  startedAt(slot: number): number {
    return this.times[slot * slotTimes + SlotTime.StartedAt]!;
  }

  /** Ms the job in `slot` has run by `now` (epoch ms), less the time a streaming job waited for credit. */
  ranFor(slot: number, now: number): number {
    const at = slot * slotTimes;
    const times = this.times;
    const pausedSince = times[at + SlotTime.PausedSince]!;
    const paused = times[at + SlotTime.PausedMs]! + (pausedSince > 0 ? now - pausedSince : 0);
    return now - times[at + SlotTime.StartedAt]! - paused;
  }

  /** Ms this thread has spent running tasks (at least one at a time), until now. */
  busyMs(now: number): number {
    const at = this.slotCount * slotTimes;
    const since = this.times[at + ThreadTime.BusySince]!;
    return this.times[at + ThreadTime.BusyTotal]! + (since >= 0 ? Math.max(0, now - since) : 0);
  }

  /**
   * Takes back the jobs of a thread that is being ended or has died: those it never started
   * (their words swapped to `Revoked`, so they never will) and those it started and did not
   * finish. Finished ones stay: their results may still arrive, until the thread's exit.
   */
  takeBack(): { pending: Job[]; started: Job[] } {
    const pending: Job[] = [];
    const started: Job[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) {
      const job = this.jobs[slot];
      if (job === undefined) continue;
      const state = Atomics.compareExchange(this.states, slot, Slot.Pending, Slot.Revoked);
      if (state === Slot.Finished) continue;
      this.forget(slot);
      if (state === Slot.Pending) pending.push(job);
      else if (state !== Slot.Cancelled) started.push(job);
    }
    return { pending, started };
  }

  /** Takes every job the thread still holds, whatever its state (it was terminated, or has exited). */
  takeAll(): Job[] {
    const all: Job[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) {
      const job = this.jobs[slot];
      if (job === undefined) continue;
      this.forget(slot);
      all.push(job);
    }
    return all;
  }

  /** Lets go of the job in a slot of a thread that will not answer for it. */
  private forget(slot: number): void {
    this.heldBytes -= this.jobs[slot]!.bytes;
    this.jobs[slot] = undefined;
    this.inFlight--;
  }

  /** The first job held that the thread has started and not finished (a pool thread runs one). */
  runningJob(): Job | undefined {
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.jobs[slot] !== undefined && this.isRunning(slot)) return this.jobs[slot];
    }
    return undefined;
  }

  isRunning(slot: number): boolean {
    const state = Atomics.load(this.states, slot);
    return state === Slot.Started || state === Slot.Aborted;
  }

  /** True if any held job has started (for `busy`). */
  get running(): boolean {
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.jobs[slot] !== undefined && this.isRunning(slot)) return true;
    }
    return false;
  }

  /**
   * Revokes the job in `slot` if the thread has not started it (compare-and-swap against the
   * thread's own swap to `Started`): it never will. Its slot stays taken until the thread answers
   * `Skipped`, so no slot is reused while the thread may still read it.
   */
  revoke(slot: number): boolean {
    if (Atomics.compareExchange(this.states, slot, Slot.Pending, Slot.Revoked) !== Slot.Pending) return false;
    this.heldBytes -= this.jobs[slot]!.bytes;
    this.jobs[slot] = undefined;
    return true;
  }

  /** The jobs this thread holds and has not started, whose input may still go elsewhere. */
  unstarted(): Job[] {
    const jobs: Job[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) {
      const job = this.jobs[slot];
      if (job !== undefined && !job.moved && Atomics.load(this.states, slot) === Slot.Pending) jobs.push(job);
    }
    return jobs;
  }

  /**
   * While set, the thread starts no new job (it waits, notified when cleared): the main thread
   * holds it while it decides whether the job running there must end the thread, so that no
   * other job can start between that check and the end.
   */
  halt(): void {
    Atomics.store(this.ints, this.haltAt, 1);
  }

  resume(): void {
    Atomics.store(this.ints, this.haltAt, 0);
    Atomics.notify(this.ints, this.haltAt);
  }

  /** Jobs held but not started: of `group`, or of every group (for `queued`). */
  waitingOf(group?: Group): number {
    if (group?.inFlight === 0) return 0;
    let count = 0;
    for (let slot = 0; slot < this.slotCount; slot++) {
      const job = this.jobs[slot];
      if (job === undefined || (group !== undefined && job.group !== group)) continue;
      if (Atomics.load(this.states, slot) === Slot.Pending) count++;
    }
    return count;
  }

  stop(): void {
    this.alive = false;
    this.stopping = true;
    clearTimeout(this.closeTimer);
    void this.worker.terminate();
  }

  /**
   * Ends the thread gracefully once it holds no job: it runs its `onThreadClose` callbacks and exits
   * by itself when its loop drains; after `graceMs` it is terminated. The process waits for it.
   */
  close(graceMs: number): void {
    this.alive = false;
    this.stopping = true;
    this.worker.ref();
    this.worker.postMessage([Kind.Close] satisfies CloseMessage);
    this.closeTimer = setTimeout(() => void this.worker.terminate(), graceMs);
    this.closeTimer.unref(); // the thread itself holds the process meanwhile
  }

  /**
   * Leaves a cancelled job that still runs to itself (an event-loop thread): returns false if it
   * has finished in the meantime. The thread acknowledges with a `Skipped` outcome, freeing the slot.
   */
  abandon(slot: number): boolean {
    if (Atomics.compareExchange(this.states, slot, Slot.Aborted, Slot.Abandoned) !== Slot.Aborted) return false;
    this.worker.postMessage([Kind.Abandon, slot] satisfies AbandonMessage);
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
        this.worker.postMessage(out.message, transferList(transfers));
        if (transfers !== undefined) for (const job of out.jobs) if (job.transfer !== undefined) job.moved = true;
        return;
      } catch {
        // Some input cannot be cloned: send the jobs one by one so only those fail.
      }
    }
    if (out.defs.length > 0) this.worker.postMessage([Kind.Run, out.defs] satisfies RunMessage);
    const failures: [Job, SerializationError][] = [];
    for (let i = Header, n = 0; i < out.message.length; i += Stride, n++) {
      const job = out.jobs[n]!;
      const single: RunMessage = [Kind.Run, 0, out.message[i], out.message[i + 1]];
      const detached = checkNotDetached(job.transfer);
      if (detached !== undefined) {
        this.release(job.slot);
        failures.push([job, detached]);
        continue;
      }
      try {
        this.worker.postMessage(single, transferList(job.transfer));
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
