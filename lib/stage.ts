import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import type { Subscriber } from 'rxjs';
import { type Transferable, transferList } from './context';
import { QueueFullError, rebuildError, SerializationError, taskErrorFrom, WorkerCrashedError } from './errors';
import {
  StageCounter,
  type StageInit,
  StageKind,
  type StageMessage,
  type TaskDefinition,
  type WireError,
} from './protocol';
import { toWire } from './thread/outbox';
import { startWorker, tsNodeInit } from './thread-handle';

const entry = join(__dirname, 'thread', 'stage-entry.js');

export interface StageOptions<I> {
  readonly bufferSize: number;
  readonly overflow: 'block' | 'error';
  readonly transfer: ((input: I) => Transferable[]) | undefined;
}

/** How long a stage may take to run its teardown after an unsubscribe before its thread is terminated. */
const stopGraceMs = 100;
/** Values sent in one message at most. */
const batchSize = 256;

/**
 * One `inThread` subscription: a thread of its own running the stage, fed with the source's values
 * in batches, within a bounded backlog, and ended (joined) before `complete` or `error` goes out.
 */
export class StageRun<I> {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly counters: Int32Array;
  private batch: unknown[] = [StageKind.Next];
  private batchTransfers: Transferable[] = [];
  private flushScheduled = false;
  private sent = 0;
  /** Set once the outcome is known; emitted after the thread exits. */
  private outcome: { kind: 'complete' } | { kind: 'error'; error: unknown } | { kind: 'unsubscribe' } | undefined;
  private exited = false;
  private crash: Error | undefined;
  private sourceError: { error: unknown } | undefined;

  constructor(
    def: TaskDefinition,
    private readonly subscriber: Subscriber<unknown>,
    private readonly options: StageOptions<I>,
  ) {
    if (!existsSync(entry)) throw new Error(`rxthreads: thread entry ${entry} is missing; run \`npm run build\` first`);
    const sab = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    this.counters = new Int32Array(sab);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: StageInit = { def, counters: sab, port: port2, tsNode: tsNodeInit() };
    this.worker = startWorker(entry, { workerData: init, transferList: [port2] });
    this.port.on('message', (message: StageMessage) => this.receive(message));
    this.worker.on('error', (error) => {
      this.crash = error;
    });
    this.worker.on('exit', (code) => this.onExit(code));
  }

  /** A source value: sent in a batch, waiting for the thread if the backlog is full. */
  next(value: I): void {
    if (this.outcome !== undefined) return;
    if (this.options.transfer !== undefined) {
      try {
        this.batchTransfers.push(...this.options.transfer(value));
      } catch (error) {
        this.finish({ kind: 'error', error });
        return;
      }
    }
    this.batch.push(value);
    if (this.backlog() >= this.options.bufferSize) {
      this.flush();
      if (this.options.overflow === 'error') {
        this.finish({
          kind: 'error',
          error: new QueueFullError(
            `inThread: the stage is ${this.backlog()} values behind (bufferSize ${this.options.bufferSize})`,
          ),
        });
        return;
      }
      this.waitForRoom();
    } else if (this.batch.length > batchSize) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  complete(): void {
    if (this.outcome !== undefined) return;
    this.flush();
    this.port.postMessage([StageKind.Complete]);
  }

  error(error: unknown): void {
    if (this.outcome !== undefined) return;
    this.sourceError = { error };
    this.flush();
    this.port.postMessage([StageKind.Error, toWire(error)]);
  }

  /** The subscriber unsubscribed: the stage is unsubscribed in its thread, then the thread ends. */
  unsubscribe(): void {
    this.finish({ kind: 'unsubscribe' });
  }

  /** Values sent or batched that the thread has not yet handed to the stage. */
  private backlog(): number {
    return this.sent + this.batch.length - 1 - Atomics.load(this.counters, StageCounter.Consumed);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 1 || this.outcome !== undefined) return;
    const message = this.batch as StageMessage;
    const transfers = this.batchTransfers;
    this.batch = [StageKind.Next];
    this.batchTransfers = [];
    try {
      this.port.postMessage(message, transferList(transfers));
      this.sent += message.length - 1;
    } catch (error) {
      this.finish({
        kind: 'error',
        error: new SerializationError(
          `A source value could not be cloned to the stage's thread: ${(error as Error).message}`,
          { cause: error },
        ),
      });
    }
  }

  /**
   * Blocks until the thread has room: a push source cannot be slowed any other way, and this keeps
   * memory flat even for a synchronous source. Meanwhile the stage's outputs are taken off the port
   * and emitted, so the thread is never waiting on us.
   */
  private waitForRoom(): void {
    while (this.outcome === undefined && this.backlog() >= this.options.bufferSize) {
      let received = receiveMessageOnPort(this.port);
      while (received !== undefined && this.outcome === undefined) {
        this.receive(received.message as StageMessage);
        received = receiveMessageOnPort(this.port);
      }
      if (this.exited) return;
      const consumed = Atomics.load(this.counters, StageCounter.Consumed);
      if (this.backlog() >= this.options.bufferSize) Atomics.wait(this.counters, StageCounter.Consumed, consumed, 10);
    }
  }

  private receive(message: StageMessage): void {
    if (this.outcome !== undefined && this.outcome.kind !== 'unsubscribe') return;
    switch (message[0]) {
      case StageKind.Next:
        if (this.outcome !== undefined) return;
        for (let i = 1; i < message.length && this.outcome === undefined; i++) this.subscriber.next(message[i]);
        break;
      case StageKind.Complete:
        this.finish({ kind: 'complete' });
        break;
      case StageKind.Error: {
        // A source error that the stage let through comes out as itself, not as a TaskError.
        const passed = message[2] === 1 && this.sourceError !== undefined;
        this.finish({ kind: 'error', error: passed ? this.sourceError!.error : taskErrorFrom(message[1]) });
        break;
      }
      case StageKind.Unclonable: {
        const cause = rebuildError(message[1] as WireError);
        this.finish({ kind: 'error', error: new SerializationError(cause.message, { cause }) });
        break;
      }
      case StageKind.Stop:
        // The stage's teardown has run in the thread: it can go.
        void this.worker.terminate();
        break;
    }
  }

  private finish(outcome: NonNullable<typeof this.outcome>): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    if (this.exited) {
      this.report();
      return;
    }
    if (outcome.kind === 'unsubscribe') {
      Atomics.store(this.counters, StageCounter.Aborted, 1);
      this.port.postMessage([StageKind.Stop]);
      setTimeout(() => void this.worker.terminate(), stopGraceMs).unref();
    } else {
      void this.worker.terminate();
    }
  }

  private onExit(code: number): void {
    this.exited = true;
    this.port.close();
    if (this.outcome === undefined) {
      this.outcome = { kind: 'error', error: new WorkerCrashedError(code, { cause: this.crash }) };
    }
    this.report();
  }

  /** The done future: the outcome goes downstream only once the thread has exited. */
  private report(): void {
    if (!this.exited) return;
    const outcome = this.outcome;
    if (outcome?.kind === 'complete') this.subscriber.complete();
    else if (outcome?.kind === 'error') this.subscriber.error(outcome.error);
  }
}
