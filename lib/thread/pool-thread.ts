import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { Kind, type ThreadInit, type ToThread } from '../wire/thread';
import { ThreadHandoff } from './handoff';
import { IdleSpin } from './idle-spin';
import { JobRunner } from './job-runner';
import { TaskLoader } from './loader';
import { ConcurrentMode, SequentialMode, type ThreadMode } from './modes';
import { runCloseCallbacks } from './on-close';
import { Outbox } from './outbox';

/**
 * A pool or event-loop thread: it receives batches of jobs, runs them (one at a time on a pool
 * thread, all at once on an event-loop thread), and sends outcomes back in batches. The thread's
 * entry script makes one, for the life of the thread.
 */
export class PoolThread {
  private readonly loader: TaskLoader;
  private readonly outbox: Outbox;
  private readonly runner: JobRunner;
  private readonly mode: ThreadMode;

  constructor(
    private readonly port: MessagePort,
    init: ThreadInit,
  ) {
    this.loader = new TaskLoader(init.tsNode);
    // Only a pool thread's lone values are awaited awake (the main thread never waits on an event-loop thread).
    const handoff = init.mode === 'concurrent' ? undefined : ThreadHandoff.of(init);
    this.outbox = new Outbox(port, handoff);
    this.runner = new JobRunner(init, this.loader, this.outbox);
    this.mode =
      init.mode === 'concurrent'
        ? new ConcurrentMode(this.runner, this.outbox)
        : new SequentialMode(this.runner, this.outbox, this.takeWaiting, new IdleSpin(init, undefined, handoff));
  }

  /** Listens to the main thread, and tells it that the thread is ready. */
  listen(): void {
    this.port.on('message', this.onMessage);
    // A thread that dies by process.exit or an uncaught error still sends what it has finished.
    process.on('exit', () => this.outbox.flush());
    process.on('uncaughtExceptionMonitor', () => this.outbox.flush());
    this.port.postMessage([Kind.Ready]);
  }

  private readonly onMessage = (message: ToThread): void => {
    switch (message[0]) {
      case Kind.Run:
      case Kind.RunNumbers:
        if (message[1] !== 0) for (const def of message[1]) this.loader.define(def);
        this.mode.take(message);
        break;
      case Kind.Cancel:
        this.runner.cancel(message[1], message[2]);
        break;
      case Kind.Abandon:
        this.runner.abandon(message[1]);
        break;
      case Kind.Close:
        void this.close();
        break;
    }
  };

  private readonly takeWaiting = (): void => {
    const next = receiveMessageOnPort(this.port);
    if (next !== undefined) this.onMessage(next.message as ToThread);
  };

  /**
   * A graceful end: every job has settled (the main thread sends `Close` only then). The callbacks
   * registered with `onThreadClose` run, then the thread stops listening and exits by itself once its
   * event loop drains, as a program would: pending writes flush and `process.on('exit')` fires.
   */
  private async close(): Promise<void> {
    await runCloseCallbacks((error) => {
      process.emitWarning(`An onThreadClose callback threw: ${error instanceof Error ? error.stack : String(error)}`);
    });
    this.outbox.flush();
    if (this.runner.abandoned > 0) {
      // Tasks abandoned after their cancel would keep the loop alive for ever: they end with the thread.
      setImmediate(() => process.exit(0));
      return;
    }
    this.port.off('message', this.onMessage);
    this.port.unref();
  }
}
