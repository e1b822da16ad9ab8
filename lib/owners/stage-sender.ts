import type { PlatformPort } from '../engine/platform';
import type { Transferable } from '../task/context';
import { Coalesced } from '../util/coalesced';
import { SerializationError } from '../util/errors';
import { Queue } from '../util/queue';
import { describeUnclonable } from '../wire/clone';
import { toWire } from '../wire/errors';
import { StageCounter, StageKind, type StageToThread } from '../wire/stage';

/** Source values sent in one message at most. */
const batchSize = 256;

/** What the sender needs of its stage run. */
export interface SenderHost<I> {
  readonly bufferSize: number;
  readonly transfer: ((input: I) => Transferable[]) | undefined;
  /** True once the run's outcome is known: nothing more is sent. */
  readonly over: boolean;
  /**
   * A source value could not be sent (it cannot be cloned, or `transfer` threw for it): the source
   * is stopped, and `error` stands for its error, which the stage receives after every value before
   * it, as it would a source's own error.
   */
  sourceFailed(error: unknown): void;
}

/**
 * The caller's side of a stage's input: source values go to the stage's thread in batches, at most
 * `bufferSize` in flight (the thread counts in shared memory what it has handed to the stage:
 * `Consumed`, the credit); the rest wait here, and go as credit comes back.
 */
export class StageSender<I> {
  private batch: unknown[] = [StageKind.Next];
  /** With `transfer`: each batched value's own list, so that the values can go one by one. */
  private batchTransfers: Transferable[][] = [];
  /** Sends the batch at the end of this turn, with every value batched in it. */
  private readonly flushSoon = new Coalesced(() => this.flush(), queueMicrotask);
  /** Source values posted to the thread so far. */
  private sent = 0;
  /** Source values beyond `bufferSize` in flight, waiting on this side for credit. */
  private readonly queue = new Queue<I>();
  private pumpArmed = false;
  /** The source's end, sent once every waiting value has gone. */
  private sourceEnd: StageToThread | undefined;
  /** A source value could not be sent: the values after it are not either. */
  private failed = false;

  constructor(
    private readonly port: PlatformPort,
    private readonly counters: Int32Array,
    private readonly host: SenderHost<I>,
  ) {}

  /** Source values sent or batched that the thread has not yet handed to the stage. */
  backlog(): number {
    return this.sent + this.batch.length - 1 - Atomics.load(this.counters, StageCounter.Consumed);
  }

  /** Source values waiting on this side for credit. */
  waiting(): number {
    return this.queue.length;
  }

  /** True if a value may go now: none waits before it and there is room in flight. */
  hasRoom(): boolean {
    return this.waiting() === 0 && this.backlog() < this.host.bufferSize;
  }

  /** Keeps a value here until there is room, then sends it. */
  hold(value: I): void {
    this.queue.push(value);
    this.armPump();
  }

  /** The source ended (`[Complete]` or `[Error, wire]`): sent after every value still waiting. */
  end(message: StageToThread): void {
    this.sourceEnd = message;
    this.pump();
  }

  /** Lets go of every value not sent yet. */
  clear(): void {
    this.batch = [StageKind.Next];
    this.batchTransfers = [];
    this.queue.drain();
  }

  /** Batches a value for the thread. */
  send(value: I): void {
    if (this.failed) return;
    const { transfer } = this.host;
    if (transfer !== undefined) {
      let list: Transferable[];
      try {
        list = transfer(value);
      } catch (error) {
        this.flush(); // the values before it go first
        this.fail(error);
        return;
      }
      this.batchTransfers.push(list);
    }
    this.batch.push(value);
    if (this.batch.length > batchSize) this.flush();
    else this.flushSoon.request();
  }

  /** Sends waiting values while there is room in flight; then the source's end, once none wait. */
  pump(): void {
    const { bufferSize } = this.host;
    while (!this.host.over && this.waiting() > 0 && this.backlog() < bufferSize) this.send(this.queue.shift()!);
    this.flush();
    if (this.waiting() > 0) this.armPump();
    else if (this.sourceEnd !== undefined) {
      this.post(this.sourceEnd);
      this.sourceEnd = undefined;
    }
  }

  /** Pumps again once the thread has taken values (it notifies `Consumed`), without holding the loop. */
  private armPump(): void {
    if (this.pumpArmed || this.host.over) return;
    this.pumpArmed = true;
    const onCredit = (): void => {
      this.pumpArmed = false;
      if (!this.host.over) this.pump();
    };
    // The thread may have taken values since the last pump: then there is room already, and no
    // later change of `Consumed` might come to wake us.
    const seen = Atomics.load(this.counters, StageCounter.Consumed);
    const wait =
      this.backlog() < this.host.bufferSize ? undefined : Atomics.waitAsync(this.counters, StageCounter.Consumed, seen);
    if (wait?.async === true) void wait.value.then(onCredit);
    else queueMicrotask(onCredit);
  }

  flush(): void {
    if (this.batch.length === 1 || this.host.over) return;
    const message = this.batch as StageToThread;
    const lists = this.batchTransfers;
    this.batch = [StageKind.Next];
    this.batchTransfers = [];
    try {
      this.port.postMessage(message, lists.flat());
      this.sent += message.length - 1;
    } catch {
      // Nothing of a message that cannot be cloned was sent: its values go one by one, so that
      // those before the bad one reach the stage.
      for (let i = 1; i < message.length; i++) {
        try {
          this.port.postMessage([StageKind.Next, message[i]] satisfies StageToThread, lists[i - 1] ?? []);
          this.sent++;
        } catch (error) {
          const reason = describeUnclonable('value', [message[i]], error);
          const cloneError = new SerializationError(
            `A source value could not be cloned to the stage's thread: ${reason}`,
            { cause: error },
          );
          this.fail(cloneError);
          return;
        }
      }
    }
  }

  /**
   * A source value could not be sent: the values after it never are, and the stage's input errors
   * with `error` after the values before it (sent by now), as if the source had errored there.
   */
  private fail(error: unknown): void {
    this.failed = true;
    this.batch = [StageKind.Next];
    this.batchTransfers = [];
    this.queue.drain();
    this.sourceEnd = undefined;
    this.host.sourceFailed(error);
    this.post([StageKind.Error, toWire(error)]);
  }

  post(message: StageToThread): void {
    if (!this.host.over) this.port.postMessage(message);
  }
}
