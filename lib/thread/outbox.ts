import type { MessagePort } from 'node:worker_threads';
import type { Transferable } from '../task/context';
import { allTransfers, type BatchItems, type PostTarget, portTarget, postBatch } from '../wire/batch';
import { describeUnclonable } from '../wire/clone';
import { toWire, type WireError } from '../wire/errors';
import {
  Header,
  Kind,
  Outcome,
  outcomeCode,
  outcomeOf,
  type ResultsMessage,
  type ResultsNumbersMessage,
  Stride,
  slotOfOutcome,
  unzipNumbers,
} from '../wire/thread';

const transferMark = Symbol.for('rxthreads.transfer');

/** What `ctx.transfer(value, list)` returns: a value whose listed buffers are moved, not copied. */
export interface Transfer {
  readonly [transferMark]: true;
  readonly value: unknown;
  readonly list: readonly Transferable[];
}

export function markTransfer(value: unknown, list: readonly Transferable[]): Transfer {
  return { [transferMark]: true, value, list };
}

export function isTransfer(value: unknown): value is Transfer {
  return typeof value === 'object' && value !== null && transferMark in value;
}

/** A results message of numbers only, packed (numbers always clone). */
function packNumbers(message: ResultsMessage): ResultsNumbersMessage {
  return [Kind.ResultsNumbers, message[1], ...unzipNumbers(message, Int32Array)];
}

/**
 * Collects outcomes and sends them in one `results` message. If the batch cannot be cloned, each
 * outcome is sent alone so that only the unclonable ones fail, and the thread goes on.
 */
export class Outbox {
  private message: ResultsMessage = [Kind.Results, 0];
  private transfers: (readonly Transferable[] | undefined)[] = [];
  private hasTransfers = false;
  /** Every outcome is `Ok` with a number: the message goes packed (`ResultsNumbers`). */
  private numbers = true;
  busyMs = 0;
  /** When the oldest unsent outcome was added (performance.now()), or -1. */
  since = -1;
  /** Outcomes and yielded values not sent yet. */
  values = 0;
  /** Streaming slots whose yielded values could not be cloned: their generators must stop. */
  readonly failedStreams = new Map<number, WireError>();
  private flushScheduled = false;

  private readonly target: PostTarget;
  /** If a batch cannot be cloned, each outcome goes alone, so that only the unclonable ones fail. */
  private readonly oneByOne: BatchItems = {
    header: Header,
    stride: Stride,
    alone: [Kind.Results, 0],
    // That stream already failed: the values after it are dropped.
    take: (n, message) => {
      const code = message[Header + n * Stride] as number;
      return outcomeOf(code) !== Outcome.Yielded || !this.failedStreams.has(slotOfOutcome(code));
    },
    failed: (n, message, error) => {
      const at = Header + n * Stride;
      const code = message[at] as number;
      const slot = slotOfOutcome(code);
      const outcome = outcomeOf(code);
      if (outcome === Outcome.Yielded) this.sendYielded(slot, message[at + 1] as unknown[]);
      else this.sendUnclonable(slot, outcome, message[at + 1], error);
      return true;
    },
  };

  constructor(private readonly port: MessagePort) {
    this.target = portTarget(port);
  }

  get size(): number {
    return (this.message.length - Header) / Stride;
  }

  ok(slot: number, value: unknown): void {
    if (isTransfer(value)) {
      this.add(slot, Outcome.Ok, value.value, value.list);
      this.hasTransfers = true;
    } else {
      this.add(slot, Outcome.Ok, value, undefined);
    }
  }

  threw(slot: number, error: WireError): void {
    this.add(slot, Outcome.Threw, error, undefined);
  }

  skipped(slot: number): void {
    this.add(slot, Outcome.Skipped, undefined, undefined);
  }

  /** A value a streaming job yielded; values of one slot in a row share one entry. */
  yielded(slot: number, value: unknown): void {
    let item = value;
    let list: readonly Transferable[] | undefined;
    if (isTransfer(value)) {
      item = value.value;
      list = value.list;
      this.hasTransfers = true;
    }
    const message = this.message;
    const last = message.length - Stride;
    if (last >= Header && message[last] === outcomeCode(slot, Outcome.Yielded)) {
      (message[last + 1] as unknown[]).push(item);
      this.values++;
      if (list !== undefined) {
        const n = (last - Header) / Stride;
        this.transfers[n] = [...(this.transfers[n] ?? []), ...list];
      }
    } else {
      this.add(slot, Outcome.Yielded, [item], list);
    }
  }

  /** A streaming job's generator finished. */
  ended(slot: number): void {
    this.add(slot, Outcome.Ended, undefined, undefined);
  }

  /** A streaming job given to `run`/`submit`: it did not run. */
  refused(slot: number): void {
    this.add(slot, Outcome.StreamRefused, undefined, undefined);
  }

  /** A streaming job stopped because a value it yielded could not be cloned. */
  unclonable(slot: number, error: WireError): void {
    this.add(slot, Outcome.Unclonable, error, undefined);
  }

  private add(slot: number, outcome: Outcome, value: unknown, transfer: readonly Transferable[] | undefined): void {
    if (this.since < 0) this.since = performance.now();
    this.values++;
    this.message.push(outcomeCode(slot, outcome), value);
    this.transfers.push(transfer);
    if (outcome !== Outcome.Ok || typeof value !== 'number' || transfer !== undefined) this.numbers = false;
  }

  /** Sends what the outbox holds at the end of this turn of the event loop. */
  readonly flushSoon = (): void => {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.scheduledFlush);
  };

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  flush(): void {
    if (this.message.length === Header) return;
    const { message, transfers, hasTransfers, numbers } = this;
    message[1] = this.busyMs;
    this.message = [Kind.Results, 0];
    this.transfers = [];
    this.hasTransfers = false;
    this.numbers = true;
    this.busyMs = 0;
    this.since = -1;
    this.values = 0;
    if (numbers && message.length > Header + Stride) {
      this.port.postMessage(packNumbers(message));
      return;
    }
    postBatch(this.target, message, hasTransfers ? allTransfers(transfers) : undefined, transfers, this.oneByOne);
  }

  /** An outcome that could not be cloned: the job fails with an `Unclonable` outcome instead. */
  private sendUnclonable(slot: number, outcome: Outcome, value: unknown, error: unknown): void {
    const what = outcome === Outcome.Ok ? 'result' : 'error';
    const reason = describeUnclonable(what, value, error);
    const wire = toWire(error, `The task's ${what} could not be cloned to the caller: ${reason}`);
    this.port.postMessage([Kind.Results, 0, outcomeCode(slot, Outcome.Unclonable), wire]);
  }

  /** Sends the yielded values of an entry that failed to clone, one by one, up to the one that fails. */
  private sendYielded(slot: number, values: unknown[]): void {
    for (const value of values) {
      try {
        this.port.postMessage([Kind.Results, 0, outcomeCode(slot, Outcome.Yielded), [value]]);
      } catch (error) {
        const wire = toWire(
          error,
          `A value the task yielded could not be cloned to the caller: ${(error as Error).message}`,
        );
        this.failedStreams.set(slot, wire);
        return;
      }
    }
  }
}
