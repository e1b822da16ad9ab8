import type { MessagePort } from 'node:worker_threads';
import type { Transferable } from '../task/context';
import { allTransfers, type BatchItems, type PostTarget, portTarget, postBatch } from '../wire/batch';
import { toWire, type WireError } from '../wire/errors';
import { type StageFromThread, StageKind } from '../wire/stage';
import { isTransfer } from './outbox';

/** Outputs per message at most. */
const batchSize = 256;

/**
 * What an `inThread` stage emits, on its way to the caller: batched per turn of the event loop. An
 * output that cannot be cloned ends the stage: `onUnclonable` is called with its error.
 */
export class StageOutbox {
  private out: unknown[] = [StageKind.Next];
  /** The buffers to move with each pending output (parallel to `out`, less its kind). */
  private transfers: (readonly Transferable[] | undefined)[] = [];
  private hasTransfers = false;
  private flushScheduled = false;
  private readonly target: PostTarget;
  /** What a value that could not be cloned failed with, while a batch went value by value. */
  private unclonable: WireError | undefined;
  /** If a batch cannot be cloned, its values go one by one, up to the one that fails. */
  private readonly oneByOne: BatchItems = {
    header: 1,
    stride: 1,
    alone: [StageKind.Next],
    failed: (_n, _message, error) => {
      const reason = (error as Error).message;
      this.unclonable = toWire(error, `A value the stage emitted could not be cloned to the caller: ${reason}`);
      return false;
    },
  };

  constructor(
    port: MessagePort,
    private readonly onUnclonable: (error: WireError) => void,
  ) {
    this.target = portTarget(port);
  }

  /** An output of the stage: it goes with the others of this turn, or now if the batch is full. */
  add(value: unknown): void {
    if (isTransfer(value)) {
      this.out.push(value.value);
      this.transfers.push(value.list);
      this.hasTransfers = true;
    } else {
      this.out.push(value);
      this.transfers.push(undefined);
    }
    if (this.out.length > batchSize) this.flushNow();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      // A macrotask, not a microtask: everything the stage emits in this turn shares one message.
      setImmediate(this.flushNow);
    }
  }

  /** Sends the pending outputs now; an unclonable one ends the stage. */
  readonly flushNow = (): void => {
    const unclonable = this.flush();
    if (unclonable !== undefined) this.onUnclonable(unclonable);
  };

  /**
   * Sends the pending outputs. If one cannot be cloned, those before it are sent and its error is
   * returned: the caller ends the stage with it.
   */
  flush(): WireError | undefined {
    this.flushScheduled = false;
    if (this.out.length === 1) return undefined;
    const message = this.out as StageFromThread;
    const { transfers, hasTransfers } = this;
    this.out = [StageKind.Next];
    this.transfers = [];
    this.hasTransfers = false;
    postBatch(this.target, message, hasTransfers ? allTransfers(transfers) : undefined, transfers, this.oneByOne);
    const unclonable = this.unclonable;
    this.unclonable = undefined;
    return unclonable;
  }
}
