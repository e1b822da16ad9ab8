import type { ResourceLimits } from 'node:worker_threads';
import { Coalesced } from '../util/coalesced';
import type { SerializationError } from '../util/errors';
import { unrefTimer } from '../util/timers';
import type { PostTarget } from '../wire/batch';
import {
  type AbandonMessage,
  type CloseMessage,
  type FromThread,
  Kind,
  type RunMode,
  type ThreadInit,
} from '../wire/thread';
import { PoolInt, Slot } from '../wire/words';
import type { AwakeBits } from './awake-bits';
import { coreCount, spawnThread, tsNodeInit } from './local/platform';
import type { WorkerSpawnOptions } from './local/worker-options';
import { LoneHandoff } from './lone-handoff';
import type { Metrics, ThreadHistograms } from './metrics';
import type { PlatformThread } from './platform';
import { RunBatch } from './run-batch';
import { type HeldJob, SlotHolder } from './slot-holder';
import { SlotTable } from './slots';

/**
 * Values a streaming job may yield ahead of the caller emitting them: enough to keep batches of
 * values flowing both ways, few enough that an unread stream holds little memory in the caller.
 */
const streamWindow = 1024;

export interface ThreadEvents<J extends HeldJob> {
  /** Where the thread's tasks' times go. */
  readonly metrics: Metrics;
  /** The words the process's pool threads share ({@link PoolInt}), and each pool thread's bit in them. */
  readonly awakeBits: AwakeBits;
  message(thread: ThreadHandle<J>, message: FromThread): void;
  /** Jobs whose input could not be sent; their slots are already free. */
  unsendable(thread: ThreadHandle<J>, failures: [J, SerializationError][]): void;
  exit(thread: ThreadHandle<J>, exitCode: number, error: Error | undefined): void;
}

export type { HeldJob };

/** What a thread is started with, of the owner's options. */
interface ThreadOptions {
  resourceLimits?: ResourceLimits | undefined;
  name?: string | undefined;
  worker?: WorkerSpawnOptions | undefined;
}

/** One thread seen from the main thread: its slots, its outgoing batch and its life. */
export class ThreadHandle<J extends HeldJob> extends SlotHolder<J> {
  /** The histograms this thread records its tasks' run and wait times into. */
  readonly histograms: ThreadHistograms;
  /** Its bit in the process's awake words (`PoolInt.Awake`), or -1. */
  readonly awakeBit: number;
  private readonly thread: PlatformThread;
  /** The thread as a post target whose every message is counted once sent (`PoolInt.Posted`). */
  private readonly port: PostTarget = {
    postMessage: (message, transfer) => {
      const words = this.events.awakeBits.words;
      // A post that wakes a sleeping thread may be preempted by it on this core until the thread
      // sleeps again: the thread does not spin while a post is under way (IdleSpin).
      Atomics.store(words, PoolInt.Posting, 1);
      try {
        this.thread.postMessage(message, transfer);
      } finally {
        Atomics.store(words, PoolInt.Posting, 0);
      }
      Atomics.add(words, PoolInt.Posted, 1);
    },
  };
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
  /** The jobs assigned since the last flush. */
  private readonly batch = new RunBatch<J>();
  /** Sends the batch at the end of this turn, with every job assigned in it. */
  private readonly flushSoon = new Coalesced(() => this.flush(), queueMicrotask);
  /** A pool thread's lone hand-off (where its words are shared memory). */
  private readonly handoff: LoneHandoff | undefined;

  constructor(
    slotCount: number,
    mode: RunMode,
    options: ThreadOptions,
    private readonly events: ThreadEvents<J>,
    holdUntilReady = false,
  ) {
    super(new SlotTable(slotCount));
    this.holding = holdUntilReady;
    this.histograms = events.metrics.newThread();
    const { states, ints, times } = this.slots;
    // Only a pool thread spins (and counts itself awake); its bit is taken back once it has exited.
    this.awakeBit = mode === 'sequential' ? events.awakeBits.take() : -1;
    this.handoff = mode === 'sequential' ? LoneHandoff.of({ ints, times }) : undefined;
    const init: ThreadInit = {
      states: states.buffer as SharedArrayBuffer,
      ints: ints.buffer as SharedArrayBuffer,
      times: times.buffer as SharedArrayBuffer,
      recording: events.metrics.recording.buffer as SharedArrayBuffer,
      runTime: this.histograms.runTime.buffer as SharedArrayBuffer,
      waitTime: this.histograms.waitTime.buffer as SharedArrayBuffer,
      mode,
      pool: events.awakeBits.words.buffer as SharedArrayBuffer,
      spinBelow: coreCount() - 1,
      awakeBit: this.awakeBit,
      tsNode: tsNodeInit(),
    };
    try {
      this.thread = this.spawn(init, options);
    } catch (error) {
      events.awakeBits.release(this.awakeBit);
      throw error;
    }
    // After the listeners: adding a 'message' listener refs the thread's port again.
    if (!this.holding) this.thread.unref();
  }

  private spawn(init: ThreadInit, options: ThreadOptions): PlatformThread {
    const events = this.events;
    return spawnThread(
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
          events.awakeBits.release(this.awakeBit);
          clearTimeout(this.closeTimer);
          this.events.exit(this, code, this.lastError);
        },
      },
    );
  }

  protected idle(): void {
    if (this.alive && !this.holding) this.thread.unref();
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
    const slot = this.takeSlot(job.values);
    if (slot === undefined) throw new Error('rxthreads: no free slot (internal error)');
    if (this.inFlight === 0) this.lastHeard = performance.now();
    this.jobs[slot] = job;
    // The slot is free, so no thread reads it now; the run message that follows publishes it.
    this.slots.prepare(slot, job.timeout > 0, job.yielded ? streamWindow : undefined, job.submittedAt.at, job.values);
    job.thread = this;
    job.slot = slot;
    if (this.inFlight++ === 0) this.thread.ref();
    const wasEmpty = this.batch.isEmpty;
    const bytes = this.batch.add(job, this.known);
    if (bytes > 0) {
      job.bytes = bytes;
      this.heldBytes += bytes;
    }
    if (this.batch.full) this.flush();
    else if (wasEmpty) this.flushSoon.request();
  }

  /** Sends the jobs assigned this turn now, rather than at its end: a caller whose burst is complete. */
  sendAssigned(): void {
    if (!this.batch.isEmpty) this.flush();
  }

  /**
   * Sends the jobs assigned since the last flush, as one message if it can be cloned. A lone value
   * (the only job the thread holds) may have its outcome handed over in shared memory instead of
   * a message (`LoneHandoff`): it then reaches the engine in a microtask of this turn, as the
   * message would have in a later one.
   */
  private flush(): void {
    if (!this.alive) {
      this.batch.clear();
      return;
    }
    const handoff = this.handoff;
    const awaited = handoff !== undefined && this.inFlight === 1 && this.batch.isLone && handoff.arm();
    const failures = this.batch.send(this.port, (job) => void this.release(job.slot));
    if (failures.length > 0) {
      if (awaited) handoff.withdraw();
      this.events.unsendable(this, failures);
      return;
    }
    if (!awaited) return;
    const outcome = handoff.take();
    if (outcome !== undefined) queueMicrotask(() => this.heard(outcome));
  }

  /**
   * Cancels a job held by this thread. Returns true if it had not started (and now never will);
   * false if it is running, in which case its `ctx.signal` is fired.
   */
  cancel(slot: number, timeoutMs?: number): boolean {
    const slots = this.slots;
    if (slots.swap(slot, Slot.Pending, Slot.Cancelled) === Slot.Pending) return true;
    if (slots.swap(slot, Slot.Started, Slot.Aborted) === Slot.Started) {
      this.port.postMessage(timeoutMs === undefined ? [Kind.Cancel, slot] : [Kind.Cancel, slot, timeoutMs]);
      slots.wakeForCancel(slot);
    }
    return false;
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
    this.port.postMessage([Kind.Close] satisfies CloseMessage);
    this.closeTimer = setTimeout(() => this.thread.terminate(), graceMs);
    unrefTimer(this.closeTimer); // the thread itself holds the process meanwhile
  }

  /**
   * Leaves a cancelled job that still runs to itself (an event-loop thread): returns false if it
   * has finished in the meantime. The thread acknowledges with a `Skipped` outcome, freeing the slot.
   */
  abandon(slot: number): boolean {
    if (this.slots.swap(slot, Slot.Aborted, Slot.Abandoned) !== Slot.Aborted) return false;
    this.port.postMessage([Kind.Abandon, slot] satisfies AbandonMessage);
    return true;
  }
}
