import type { MessagePort } from 'node:worker_threads';
import { type Observable, Subject, type Subscription } from 'rxjs';
import { rebuildError, toWire, type WireError } from '../wire/errors';
import { StageCounter, type StageFromThread, type StageInit, StageKind, type StageToThread } from '../wire/stage';
import { ContextBase } from './context';
import { explainThrown } from './inline-scope';
import { TaskLoader } from './loader';
import { runCloseCallbacks } from './on-close';
import { StageOutbox } from './stage-outbox';

/**
 * While the stage works through one incoming batch, what it has emitted so far goes out as soon as
 * this much time has passed since the last message: a slow (CPU-bound) stage delivers each result
 * when it is ready, not when the whole batch is done; a fast one still shares messages.
 */
const promptMs = 1;

class StageContext extends ContextBase {
  constructor(private readonly counters: Int32Array) {
    super();
  }

  get aborted(): boolean {
    return Atomics.load(this.counters, StageCounter.Aborted) === 1;
  }
}

function unwrap(error: unknown): unknown {
  const errors = (error as { errors?: unknown } | null)?.errors;
  const single = (error as Error | null)?.name === 'UnsubscriptionError' && Array.isArray(errors);
  return single && errors.length === 1 ? errors[0] : error;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * An `inThread` stage thread: it calls the stage with an `input$` fed by the caller's source, and
 * sends what the stage emits back, in batches. After its last message (the stage completed, errored
 * or was unsubscribed) it runs the `onThreadClose` callbacks, closes its port, and exits by itself
 * once its event loop has drained. The thread's entry script makes one, for the life of the thread.
 */
export class StageThread {
  private readonly port: MessagePort;
  /** Shared with the caller ({@link StageCounter}): the credit word `Consumed`, `Aborted`, … */
  private readonly counters: Int32Array;
  private readonly ctx: StageContext;
  private readonly out: StageOutbox;
  // ---- the end: the outcome, the close callbacks, then the port closes and the thread can exit ----
  private ended = false;
  private subscription: Subscription | undefined;
  /** What the stage's teardown threw, if it did (an `UnsubscriptionError` of one error is unwrapped). */
  private teardownError: { error: unknown } | undefined;
  // ---- in: the caller's source, delivered to input$ once the stage has subscribed to it ----
  private readonly input$ = new Subject<unknown>();
  /** The source's error as delivered to input$: if the stage lets it through, the caller gets its own back. */
  private sourceError: Error | undefined;
  private started = false;
  private readonly early: StageToThread[] = [];

  constructor(private readonly init: StageInit) {
    this.port = init.port;
    this.counters = new Int32Array(init.counters);
    process.on('exit', () => {
      // A thread that dies (process.exit, an uncaught error) still sends what the stage emitted: the
      // caller takes it off the port before it reports the crash.
      if (!this.ended) this.out.flush();
      // The caller may be blocked in Atomics.wait for credit (overflow: 'block'): wake it, whatever
      // the reason this thread ends, or it would wait for credit that never comes.
      Atomics.store(this.counters, StageCounter.Exited, 1);
      Atomics.notify(this.counters, StageCounter.Consumed);
    });
    this.ctx = new StageContext(this.counters);
    this.out = new StageOutbox(this.port, (error) => this.end([StageKind.Unclonable, error], true));
    this.port.on('message', (message: StageToThread) => {
      if (this.started || message[0] === StageKind.Stop) this.deliver(message);
      else this.early.push(message);
    });
  }

  /** An error of the stage's own for the caller, with advice where an inline stage read something it cannot (as for tasks). */
  private wire(error: unknown): WireError {
    return toWire(error, explainThrown(error, this.init.def.kind === 'inline'));
  }

  /** Loads the stage, calls it and subscribes to what it returns, then hands it what came meanwhile. */
  async run(): Promise<void> {
    const loader = new TaskLoader(this.init.tsNode);
    loader.define(this.init.def);
    const loaded = await loader.load(this.init.def.key);
    if (this.ended) return; // unsubscribed while loading: there is no stage to tear down
    if (loaded.error !== undefined) {
      this.end([StageKind.Error, this.wire(loaded.error)], false);
      return;
    }
    try {
      let output = loaded.fn(this.input$.asObservable(), this.ctx) as
        | Observable<unknown>
        | PromiseLike<Observable<unknown>>;
      // An async stage (an inline one that imports rxjs) resolves to its Observable.
      if (isPromiseLike(output)) output = await output;
      if (this.ended) return;
      if (typeof output?.subscribe !== 'function') {
        throw new TypeError(`The stage must return an Observable, got ${output === null ? 'null' : typeof output}`);
      }
      this.subscription = output.subscribe({
        next: this.emit,
        error: (error: unknown) => {
          // A source error the stage lets through is the source's, not the stage's: sent as it is.
          this.endAfterTeardown(
            error === this.sourceError ? [StageKind.Error, toWire(error), 1] : [StageKind.Error, this.wire(error)],
          );
        },
        complete: () => this.endAfterTeardown([StageKind.Complete]),
      });
    } catch (error) {
      this.end([StageKind.Error, this.wire(error)], true);
      return;
    }
    this.started = true;
    Atomics.store(this.counters, StageCounter.Started, 1);
    for (const message of this.early.splice(0)) this.deliver(message);
  }

  private readonly emit = (value: unknown): void => {
    if (!this.ended) this.out.add(value);
  };

  /**
   * Sends the stage's outcome after its pending outputs. With `unsubscribe`, the stage is
   * unsubscribed first, so its teardown and `finalize` run here, before the caller hears of the end.
   * A teardown that threw turns a completion into an error, and is reported with an unsubscribe.
   */
  private end(last: StageFromThread, unsubscribe: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (unsubscribe) {
      this.ctx.abort();
      try {
        this.subscription?.unsubscribe();
      } catch (error) {
        this.teardownError ??= { error: unwrap(error) };
      }
    }
    const unclonable = this.out.flush();
    const teardownError = this.teardownError;
    let outcome = last;
    if (unclonable !== undefined) outcome = [StageKind.Unclonable, unclonable];
    else if (teardownError !== undefined && last[0] === StageKind.Complete) {
      outcome = [StageKind.Error, this.wire(teardownError.error)];
    } else if (teardownError !== undefined && last[0] === StageKind.Stop) {
      outcome = [StageKind.Stop, this.wire(teardownError.error)];
    }
    this.port.postMessage(outcome);
    void this.close();
  }

  /** The graceful end of the thread: its close callbacks, then nothing holds its event loop. */
  private async close(): Promise<void> {
    await runCloseCallbacks((error) => this.port.postMessage([StageKind.CloseError, this.wire(error)]));
    this.port.close();
  }

  /**
   * The stage completed or errored: RxJS runs its teardown right after our observer returns, so the
   * outcome goes one microtask later, once the teardown has run. A teardown that throws throws into
   * whatever made the stage end: our own call into `input$` (caught there: `stageThrew`), or a timer or
   * I/O callback of the stage, where it is an uncaught exception that comes before that microtask.
   */
  private endAfterTeardown(last: StageFromThread): void {
    const onThrow = (error: unknown): void => {
      this.teardownError ??= { error: unwrap(error) };
    };
    process.on('uncaughtException', onThrow);
    queueMicrotask(() => {
      process.off('uncaughtException', onThrow);
      this.end(last, false);
    });
  }

  /**
   * Something escaped our call into the stage (`input$`): its teardown's error as it ended, or the
   * stage fails with it.
   */
  private stageThrew(error: unknown): void {
    if (this.ended || this.teardownError !== undefined) return;
    const teardownError = { error: unwrap(error) };
    this.teardownError = teardownError;
    // Unless the stage has just ended (its outcome is on its way), this ends it.
    queueMicrotask(() => this.end([StageKind.Error, this.wire(teardownError.error)], true));
  }

  /** Hands a batch of source values to the stage, sending its outputs and credit as it goes. */
  private deliverValues(message: StageToThread): void {
    const { input$, ctx, counters } = this;
    const count = message.length - 1;
    let granted = 0;
    let since = performance.now();
    for (let i = 1; i <= count && !this.ended && !ctx.aborted; i++) {
      try {
        input$.next(message[i]);
      } catch (error) {
        this.stageThrew(error);
      }
      const now = performance.now();
      if (now - since >= promptMs) {
        since = now;
        Atomics.add(counters, StageCounter.Consumed, i - granted);
        Atomics.notify(counters, StageCounter.Consumed);
        granted = i;
        if (!this.ended) this.out.flushNow();
      }
    }
    // Credit for the sender: these values have been handed to the stage (or skipped, once it ended).
    Atomics.add(counters, StageCounter.Consumed, count - granted);
    Atomics.notify(counters, StageCounter.Consumed);
  }

  private deliver(message: StageToThread): void {
    switch (message[0]) {
      case StageKind.Next:
        this.deliverValues(message);
        break;
      case StageKind.Complete:
        try {
          if (!this.ended) this.input$.complete();
        } catch (error) {
          this.stageThrew(error);
        }
        break;
      case StageKind.Error: {
        const error = rebuildError(message[1]);
        this.sourceError = error;
        try {
          if (!this.ended) this.input$.error(error);
        } catch (thrown) {
          this.stageThrew(thrown);
        }
        break;
      }
      case StageKind.Stop:
        this.end([StageKind.Stop], true);
        break;
    }
  }
}
