import type { MessagePort } from 'node:worker_threads';
import { type Transferable, transferList } from '../task/context';

/** Where a batch is posted: a thread (as the main thread sees it) or a port wrapped by the thread. */
export interface PostTarget {
  /** Sends a message; throws (a `DataCloneError`) if it cannot be cloned, and then sends nothing. */
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
}

/** A thread's port as a {@link PostTarget}. */
export function portTarget(port: MessagePort): PostTarget {
  return { postMessage: (message, transfer) => port.postMessage(message, transferList(transfer)) };
}

/**
 * How a batch message holds its items (a header, then `stride` elements per item), and what becomes
 * of each item when the batch cannot go as one message. A sender makes it once, not per batch.
 */
export interface BatchItems {
  /** Elements before the first item. */
  readonly header: number;
  /** Elements per item. */
  readonly stride: number;
  /** What the message of an item sent alone starts with, in place of the batch's header. */
  readonly alone: readonly unknown[];
  /** Called once before the items go alone: to send first what they all need (task definitions). */
  before?(message: readonly unknown[]): void;
  /** Whether item `n` goes alone; false leaves it out (the sender has dealt with it). All go if absent. */
  take?(n: number, message: readonly unknown[]): boolean;
  /** Item `n` went alone (its buffers moved). */
  sent?(n: number): void;
  /**
   * Item `n` could not be cloned: its message sent and moved nothing. Returns whether the items
   * after it still go.
   */
  failed(n: number, message: readonly unknown[], error: unknown): boolean;
}

/** The transfer list of a whole batch: the buffers of every item, from their lists by item. */
export function allTransfers(transfers: readonly (readonly Transferable[] | undefined)[]): Transferable[] {
  return transfers.flatMap((list) => list ?? []);
}

/**
 * Posts a batch as one message, moving `transfer` (every item's buffers), and returns true. If it
 * cannot be cloned (a failed postMessage sends and moves nothing), or `transfer` is null (the batch
 * must not go whole: a buffer is detached or listed twice), each item goes alone instead (`alone`,
 * then the item's elements, moving its own `transfers[n]`), so that only the items that cannot be
 * cloned fail, each reported to `items.failed`; then it returns false.
 */
export function postBatch(
  target: PostTarget,
  message: readonly unknown[],
  transfer: readonly Transferable[] | undefined | null,
  transfers: readonly (readonly Transferable[] | undefined)[],
  items: BatchItems,
): boolean {
  if (transfer !== null) {
    try {
      target.postMessage(message, transfer);
      return true;
    } catch {
      // Some item cannot be cloned: send the items one by one so only those fail.
    }
  }
  items.before?.(message);
  const { header, stride, alone } = items;
  for (let at = header, n = 0; at < message.length; at += stride, n++) {
    if (items.take !== undefined && !items.take(n, message)) continue;
    const lone = alone.slice();
    for (let k = 0; k < stride; k++) lone.push(message[at + k]);
    try {
      target.postMessage(lone, transfers[n]);
    } catch (error) {
      if (items.failed(n, message, error)) continue;
      return false;
    }
    items.sent?.(n);
  }
  return false;
}
