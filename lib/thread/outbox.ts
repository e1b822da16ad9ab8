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
} from '../wire/thread';
import type { ThreadHandoff } from './handoff';

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

/**
 * Collects outcomes and sends them in one `results` message. If the batch cannot be cloned, each
 * outcome is sent alone so that only the unclonable ones fail, and the thread goes on.
 */
export class Outbox {
  private message: ResultsMessage = [Kind.Results, 0];
  /** By outcome of `message`, what each moves; created with the first outcome that moves something. */
  private transfers: (readonly Transferable[] | undefined)[] | undefined;
  /**
   * While every outcome is `Ok` with a number, they are written here as they come, not into
   * `message`, and go packed (`ResultsNumbers`): no boxed number or array element per value, and
   * one block of memory to clone. The first other outcome moves them into `message`.
   */
  private codes = new Int32Array(256);
  private numbers = new Float64Array(256);
  private packed = 0;
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

  /** With `handoff`, a lone number outcome goes to a main thread that waits for it awake, not by message. */
  constructor(
    port: MessagePort,
    private readonly handoff?: ThreadHandoff,
  ) {
    const target = portTarget(port);
    this.target =
      handoff === undefined
        ? target
        : {
            postMessage: (message, transfer) => {
              handoff.posting();
              target.postMessage(message, transfer);
            },
          };
  }

  ok(slot: number, value: unknown): void {
    if (typeof value === 'number' && this.message.length === Header) {
      this.okNumber(slot, value);
    } else if (isTransfer(value)) {
      this.add(slot, Outcome.Ok, value.value, value.list);
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
    }
    const message = this.message;
    const last = message.length - Stride;
    if (last >= Header && message[last] === outcomeCode(slot, Outcome.Yielded)) {
      (message[last + 1] as unknown[]).push(item);
      this.values++;
      if (list !== undefined) {
        const transfers = this.transfersOf();
        const n = (last - Header) / Stride;
        transfers[n] = [...(transfers[n] ?? []), ...list];
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

  private okNumber(slot: number, value: number): void {
    if (this.since < 0) this.since = performance.now();
    this.values++;
    const at = this.packed++;
    if (at === this.codes.length) {
      const codes = new Int32Array(at * 2);
      codes.set(this.codes);
      this.codes = codes;
      const numbers = new Float64Array(at * 2);
      numbers.set(this.numbers);
      this.numbers = numbers;
    }
    this.codes[at] = outcomeCode(slot, Outcome.Ok);
    this.numbers[at] = value;
  }

  private add(slot: number, outcome: Outcome, value: unknown, transfer: readonly Transferable[] | undefined): void {
    if (this.since < 0) this.since = performance.now();
    this.values++;
    const message = this.message;
    if (this.packed > 0) {
      // The first outcome that is not a number: those before it join the message, in order.
      for (let n = 0; n < this.packed; n++) message.push(this.codes[n], this.numbers[n]);
      this.packed = 0;
    }
    if (transfer !== undefined) this.transfersOf()[(message.length - Header) / Stride] = transfer;
    message.push(outcomeCode(slot, outcome), value);
  }

  private transfersOf(): (readonly Transferable[] | undefined)[] {
    this.transfers ??= [];
    return this.transfers;
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
    const { message, transfers, packed } = this;
    if (packed === 0 && message.length === Header) return;
    const busyMs = this.busyMs;
    this.transfers = undefined;
    this.busyMs = 0;
    this.since = -1;
    this.values = 0;
    if (packed > 0) {
      this.packed = 0;
      // A lone number goes flat: two typed arrays cost more to clone than one element.
      if (packed === 1 && this.handoff?.give(this.codes[0]!, this.numbers[0]!, busyMs)) return;
      const results: ResultsMessage | ResultsNumbersMessage =
        packed === 1
          ? [Kind.Results, busyMs, this.codes[0], this.numbers[0]]
          : [Kind.ResultsNumbers, busyMs, this.codes.slice(0, packed), this.numbers.slice(0, packed)];
      this.target.postMessage(results);
      return;
    }
    message[1] = busyMs;
    this.message = [Kind.Results, 0];
    const all = transfers === undefined ? undefined : allTransfers(transfers);
    postBatch(this.target, message, all, transfers ?? [], this.oneByOne);
  }

  /** An outcome that could not be cloned: the job fails with an `Unclonable` outcome instead. */
  private sendUnclonable(slot: number, outcome: Outcome, value: unknown, error: unknown): void {
    const what = outcome === Outcome.Ok ? 'result' : 'error';
    const reason = describeUnclonable(what, value, error);
    const wire = toWire(error, `The task's ${what} could not be cloned to the caller: ${reason}`);
    this.target.postMessage([Kind.Results, 0, outcomeCode(slot, Outcome.Unclonable), wire]);
  }

  /** Sends the yielded values of an entry that failed to clone, one by one, up to the one that fails. */
  private sendYielded(slot: number, values: unknown[]): void {
    for (const value of values) {
      try {
        this.target.postMessage([Kind.Results, 0, outcomeCode(slot, Outcome.Yielded), [value]]);
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
