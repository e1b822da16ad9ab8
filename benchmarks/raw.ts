/**
 * The hand-written baseline: plain `worker_threads`, what a user would write without a library.
 * One postMessage per task to the least loaded worker, or one per batch of inputs. Cancelling
 * a running task sets a shared flag (cooperative) or terminates its worker and starts another.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const script = join(__dirname, 'workers', 'raw.cjs');

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  fn: string;
}

interface Slot {
  worker: Worker;
  inFlight: number;
  pending: Map<number, Pending>;
}

export class RawPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Resolves once every worker has started (answered one task). */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.post(slot, 'inc', 0)));
  }

  call<O>(fn: string, input: unknown, transfer: ArrayBuffer[] = [], signal?: AbortSignal): Promise<O> {
    let slot = this.slots[0]!;
    for (const other of this.slots) if (other.inFlight < slot.inFlight) slot = other;
    const result = this.post<O>(slot, fn, input, transfer);
    signal?.addEventListener('abort', () => this.abort(slot, fn, input), { once: true });
    return result;
  }

  /** Many inputs in one message; the worker applies `inc` to each. */
  batch(values: number[]): Promise<number[]> {
    let slot = this.slots[0]!;
    for (const other of this.slots) if (other.inFlight < slot.inFlight) slot = other;
    return this.post(slot, 'batch', values, [], true);
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private post<O>(slot: Slot, fn: string, input: unknown, transfer: ArrayBuffer[] = [], batch = false): Promise<O> {
    const id = this.nextId++;
    slot.inFlight++;
    return new Promise<O>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, fn });
      slot.worker.postMessage(batch ? { id, batch: input } : { id, fn, input }, transfer);
    });
  }

  private abort(slot: Slot, fn: string, input: unknown): void {
    if (fn === 'burnCooperative') {
      Atomics.store(new Int32Array((input as { stop: SharedArrayBuffer }).stop), 0, 1);
      return;
    }
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots[index] = this.spawn();
    for (const pending of slot.pending.values()) pending.reject(new Error('aborted'));
    void slot.worker.terminate();
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(script), inFlight: 0, pending: new Map() };
    slot.worker.on('message', ({ id, result }: { id: number; result: unknown }) => {
      const pending = slot.pending.get(id);
      if (pending === undefined) return;
      slot.pending.delete(id);
      slot.inFlight--;
      pending.resolve(result);
    });
    slot.worker.on('error', (error) => {
      for (const pending of slot.pending.values()) pending.reject(error);
    });
    return slot;
  }
}
