/**
 * The hand-written baseline: plain `worker_threads`, what a user would write without a library.
 * One postMessage per task to the least loaded worker, or one per batch of inputs. Cancelling
 * a running task sets a shared flag (cooperative) or terminates its worker and starts another.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type LoopKind, runSlices } from './slices';

export type { LoopKind } from './slices';

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

/**
 * The plain loop: the fewest steps that move numbers to worker threads and back. Slices of the
 * inputs go round-robin to the workers, each adds 1 in place and posts the slice back; the main
 * thread adds up what comes back. No ids, no promise per message, no per-task objects: what a
 * user would write for this one job, and so the limit of message passing for any library.
 */
export class RawLoop {
  private readonly workers: Worker[] = [];
  private onSlice: (worker: Worker, values: ArrayLike<number>) => void = () => {};

  constructor(
    threads: number,
    readonly kind: LoopKind,
  ) {
    const transfer = kind === 'Float64Array, transferred';
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(join(__dirname, 'workers', 'raw-loop.cjs'), { workerData: { transfer } });
      worker.on('message', (values: ArrayLike<number>) => this.onSlice(worker, values));
      this.workers.push(worker);
    }
  }

  /**
   * Sends `values` in slices of `size`, either all at once (`perWorker` Infinity) or with at most
   * `perWorker` slices in flight per worker, the next sent to a worker as one comes back from it.
   * Returns the sum of the results.
   */
  run(values: readonly number[], size: number, perWorker = Number.POSITIVE_INFINITY): Promise<number> {
    return runSlices(
      this.workers,
      this.kind,
      values,
      size,
      perWorker,
      (worker, slice, transfer) => worker.postMessage(slice, transfer),
      (onSlice) => {
        this.onSlice = onSlice;
      },
    );
  }

  /** Resolves once every worker has answered a slice. */
  async ready(): Promise<void> {
    await this.run(
      Array.from({ length: this.workers.length }, (_, i) => i),
      1,
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
