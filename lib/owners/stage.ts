import { config, type Observable, Subject, type Subscriber, takeUntil } from 'rxjs';
import { canBlockCaller, messageChannel, receiveNow, spawnThread, tsNodeInit } from '../engine/local/platform';
import type { PlatformPort, PlatformThread } from '../engine/platform';
import { cancelCloseGraceMs } from '../engine/port';
import type { Transferable } from '../task/context';
import type { TaskDefinition } from '../task/definition';
import type { Ending } from '../util/ending';
import { QueueFullError, SerializationError, WorkerCrashedError } from '../util/errors';
import { unrefTimer } from '../util/timers';
import { displayOf, rebuildError, taskErrorFrom, toWire, type WireError } from '../wire/errors';
import {
  StageCounter,
  type StageFromThread,
  type StageInit,
  StageKind,
  type StageToThread,
  stageCounters,
} from '../wire/stage';
import { StageSender } from './stage-sender';

export interface StageOptions<I> {
  readonly bufferSize: number;
  readonly overflow: 'buffer' | 'block' | 'error';
  readonly transfer: ((input: I) => Transferable[]) | undefined;
  readonly closeGraceMs: number;
}

/** While blocked for credit, how often the stage's outputs are taken off the port and emitted. */
const drainEveryMs = 10;

/** Reports an error nobody can receive any more, as RxJS does: `config.onUnhandledError`, or thrown. */
function reportUnhandled(error: unknown): void {
  setTimeout(() => {
    const { onUnhandledError } = config;
    if (onUnhandledError === null) throw error;
    onUnhandledError(error);
  });
}

/**
 * One `inThread` subscription: a thread of its own running the stage, fed with the source's values
 * in batches, at most `bufferSize` of them in flight (the rest wait here, or the source is held or
 * failed, as `overflow` says), and joined before `complete` or `error` goes out.
 */
export class StageRun<I> {
  private readonly thread: PlatformThread;
  private readonly port: PlatformPort;
  private readonly counters: Int32Array;
  private readonly sender: StageSender<I>;
  /** Set once the outcome is known; emitted after the thread exits. */
  private outcome: Ending | undefined;
  private exited = false;
  private crash: Error | undefined;
  private sourceError: { error: unknown } | undefined;
  private sourceStopped = false;
  private readonly stopSource = new Subject<void>();
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    def: TaskDefinition,
    private readonly subscriber: Subscriber<unknown>,
    private readonly options: StageOptions<I>,
  ) {
    const run = this;
    const sab = new SharedArrayBuffer(stageCounters * Int32Array.BYTES_PER_ELEMENT);
    this.counters = new Int32Array(sab);
    const { local: port1, remote: port2 } = messageChannel();
    this.port = port1;
    this.sender = new StageSender(port1, this.counters, {
      bufferSize: options.bufferSize,
      transfer: options.transfer,
      get over() {
        return run.outcome !== undefined;
      },
      sourceFailed: (error) => this.sourceFailed(error),
    });
    const init: StageInit = { def, counters: sab, port: port2, tsNode: tsNodeInit() };
    this.thread = spawnThread(
      { script: 'stage', data: init, transfer: [port2] },
      {
        // The stage talks on its own port; the thread's own channel carries nothing.
        message: () => {},
        error: (error) => {
          this.crash = error;
        },
        exit: (code) => this.onExit(code),
      },
    );
    this.port.on('message', (message) => this.receive(message as StageFromThread));
  }

  /**
   * Subscribes to the source. `takeUntil` lets the run stop it as soon as the outcome is known,
   * even in the middle of a synchronous source's emission (a `take(n)` downstream, a stage that
   * failed while the source was blocked for credit).
   */
  start(source: Observable<I>): void {
    if (this.sourceStopped) return;
    source.pipe(takeUntil(this.stopSource)).subscribe({
      next: (value) => this.next(value),
      error: (error: unknown) => this.error(error),
      complete: () => this.complete(),
    });
  }

  /** The subscriber unsubscribed: the stage is unsubscribed in its thread, then the thread ends. */
  unsubscribe(): void {
    this.finish({ kind: 'unsubscribe' });
  }

  /** A source value: sent (batched) if there is room in flight, else handled as `overflow` says. */
  private next(value: I): void {
    if (this.sourceStopped) return;
    const { bufferSize, overflow } = this.options;
    const sender = this.sender;
    if (sender.hasRoom()) {
      sender.send(value);
      return;
    }
    if (overflow === 'error') {
      sender.flush();
      if (sender.backlog() < bufferSize) sender.send(value);
      else {
        const message = `inThread: the stage is ${sender.backlog()} values behind (bufferSize ${bufferSize})`;
        this.finish({ kind: 'error', error: new QueueFullError(message) });
      }
      return;
    }
    // 'block' never waits on a stage that has not started: it might never start (an await that
    // never settles), and nothing could end the wait while it holds the caller's loop. Where the
    // caller may not block (a page's main thread), it buffers.
    if (overflow === 'buffer' || !canBlockCaller || Atomics.load(this.counters, StageCounter.Started) === 0) {
      sender.hold(value);
      return;
    }
    if (this.block()) sender.send(value);
  }

  private complete(): void {
    if (this.sourceStopped) return; // takeUntil completes us when we stop the source
    this.sourceStopped = true;
    this.sender.end([StageKind.Complete]);
  }

  private error(error: unknown): void {
    if (this.sourceStopped) return;
    this.sourceStopped = true;
    this.sourceError = { error };
    this.sender.end([StageKind.Error, toWire(error)]);
  }

  /**
   * A source value could not be sent (the sender has told the thread): the source stops there, and
   * `error` is the source's error from then on. A source that had already ended keeps only its values.
   */
  private sourceFailed(error: unknown): void {
    this.sourceError = { error };
    this.stopTheSource();
  }

  /**
   * `overflow: 'block'`, the stage has started and is `bufferSize` values behind: the caller's thread
   * waits until there is room. Returns whether the value may go on.
   */
  private block(): boolean {
    const { bufferSize } = this.options;
    // Holding the caller's thread is what keeps memory flat even for a synchronous source.
    // Meanwhile the stage's outputs are taken off the port and emitted (so the stage never waits on
    // us), and a stage that ends or a thread that dies ends the wait: its 'exit' event cannot fire
    // while we hold the event loop, so the thread says it is exiting in shared memory.
    for (;;) {
      const exiting = Atomics.load(this.counters, StageCounter.Exited) === 1;
      this.drain();
      if (this.sourceStopped) return false;
      this.sender.pump();
      if (this.sender.hasRoom()) return true;
      if (exiting) {
        this.stopTheSource(); // the 'exit' event will tell how it died
        return false;
      }
      const consumed = Atomics.load(this.counters, StageCounter.Consumed);
      if (this.sender.backlog() >= bufferSize)
        Atomics.wait(this.counters, StageCounter.Consumed, consumed, drainEveryMs);
    }
  }

  /** Takes the thread's messages off the port now, without a turn of the event loop. */
  private drain(): void {
    for (let received = receiveNow(this.port); received !== undefined; ) {
      this.receive(received.message as StageFromThread);
      received = receiveNow(this.port);
    }
  }

  private receive(message: StageFromThread): void {
    switch (message[0]) {
      case StageKind.Next:
        for (let i = 1; i < message.length && this.outcome === undefined; i++) this.subscriber.next(message[i]);
        break;
      case StageKind.Complete:
        this.finish({ kind: 'complete' }, true);
        break;
      case StageKind.Error: {
        // A source error that the stage let through comes out as itself, not as a TaskError.
        const passed = message[2] === 1 && this.sourceError !== undefined;
        const error = passed ? this.sourceError!.error : taskErrorFrom(message[1]);
        this.finish({ kind: 'error', error }, true);
        break;
      }
      case StageKind.Unclonable: {
        const error = new SerializationError(displayOf(message[1]), { cause: rebuildError(message[1]) });
        this.finish({ kind: 'error', error }, true);
        break;
      }
      case StageKind.Stop:
        // The stage's teardown has run, as asked; the thread is on its way out.
        if (message[1] !== undefined) this.lateError(message[1]);
        break;
      case StageKind.CloseError:
        this.lateError(message[1]);
        break;
    }
  }

  /**
   * The stage's teardown (after an unsubscribe) or a close callback threw. A stream that was to
   * complete errors with it instead; after an unsubscribe nobody can receive it, so it is reported
   * as RxJS reports such errors; a stream that already errors keeps its first error.
   */
  private lateError(wire: WireError): void {
    const outcome = this.outcome;
    if (outcome?.kind === 'complete') this.outcome = { kind: 'error', error: taskErrorFrom(wire) };
    else if (outcome?.kind === 'unsubscribe') reportUnhandled(taskErrorFrom(wire));
  }

  private stopTheSource(): void {
    if (this.sourceStopped) return;
    this.sourceStopped = true;
    this.stopSource.next();
  }

  /**
   * The outcome is known. The source stops and values still waiting never go; unless the thread
   * has ended the stage itself, it is told to unsubscribe it (so its teardown runs there). The
   * thread then closes gracefully within its grace; the outcome goes out once it has exited.
   */
  private finish(outcome: Ending, fromThread = false): void {
    if (this.outcome !== undefined) return;
    this.stopTheSource();
    this.outcome = outcome;
    this.sender.clear();
    if (this.exited) return;
    let graceMs = this.options.closeGraceMs;
    if (!fromThread) {
      // Shared memory first: a stage busy in a synchronous loop sees ctx.aborted before the message.
      Atomics.store(this.counters, StageCounter.Aborted, 1);
      this.port.postMessage([StageKind.Stop] satisfies StageToThread);
      // A stage that has not started (its thread still loading it) has nothing to tear down, and
      // would only finish loading to exit: its thread ends now.
      graceMs = Atomics.load(this.counters, StageCounter.Started) === 0 ? 0 : Math.min(graceMs, cancelCloseGraceMs);
    }
    this.graceTimer = setTimeout(() => this.thread.terminate(), graceMs);
    unrefTimer(this.graceTimer);
  }

  /** The done future: the outcome goes downstream only once the thread has exited. */
  private onExit(code: number): void {
    this.exited = true;
    clearTimeout(this.graceTimer);
    // The thread may have sent its last messages just before it exited, on a channel that is not
    // ordered with the 'exit' event: take what is left on the port first.
    this.drain();
    this.port.close();
    this.stopTheSource();
    this.sender.clear();
    // A terminated thread never notified its last credit: release our own pending waitAsync.
    Atomics.notify(this.counters, StageCounter.Consumed);
    const outcome = this.outcome ?? { kind: 'error', error: new WorkerCrashedError(code, { cause: this.crash }) };
    this.outcome = outcome;
    if (outcome.kind === 'complete') this.subscriber.complete();
    else if (outcome.kind === 'error') this.subscriber.error(outcome.error);
  }
}
