// The raw loop's schedule, shared by the Node bench (raw.ts, worker_threads) and the browser
// bench (browser/page.ts, Web Workers): it imports nothing, so either platform can bundle it.

/** How the raw loop carries numbers: plain arrays, typed arrays copied, or typed arrays moved. */
export type LoopKind = 'Array' | 'Float64Array' | 'Float64Array, transferred';

/** A slice to post, and what to move with it (`undefined`: copied). */
export type Post<W> = (worker: W, slice: unknown, transfer: ArrayBuffer[] | undefined) => void;

/**
 * Sends `values` in slices of `size` to `workers`, either all at once round-robin (`perWorker`
 * Infinity) or with at most `perWorker` slices in flight per worker, the next sent to a worker as
 * one comes back from it. `listen` gets the handler of every slice that comes back. Resolves to
 * the sum of the results.
 */
export function runSlices<W>(
  workers: readonly W[],
  kind: LoopKind,
  values: readonly number[],
  size: number,
  perWorker: number,
  post: Post<W>,
  listen: (onSlice: (worker: W, out: ArrayLike<number>) => void) => void,
): Promise<number> {
  const slices = Math.ceil(values.length / size);
  let next = 0;
  const send = (worker: W) => {
    const start = next;
    const end = Math.min(start + size, values.length);
    next = end;
    if (kind === 'Array') {
      post(worker, values.slice(start, end), undefined);
      return;
    }
    const slice = new Float64Array(end - start);
    for (let i = start; i < end; i++) slice[i - start] = values[i]!;
    post(worker, slice, kind === 'Float64Array' ? undefined : [slice.buffer]);
  };
  return new Promise((resolve) => {
    let back = 0;
    let sum = 0;
    listen((worker, out) => {
      for (let i = 0; i < out.length; i++) sum += out[i]!;
      if (++back === slices) resolve(sum);
      else if (next < values.length && perWorker !== Number.POSITIVE_INFINITY) send(worker);
    });
    if (slices === 0) resolve(0);
    else if (perWorker === Number.POSITIVE_INFINITY)
      for (let k = 0; next < values.length; k++) send(workers[k % workers.length]!);
    else for (let k = 0; k < perWorker; k++) for (const worker of workers) if (next < values.length) send(worker);
  });
}

/**
 * Calls `call` on every value, with at most `limit` calls in flight: a new call starts as each one
 * settles. Returns the sum of the results.
 */
export function inFlight(
  call: (x: number) => Promise<number>,
  values: readonly number[],
  limit: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let settled = 0;
    let sum = 0;
    const onResult = (result: number) => {
      sum += result;
      settled++;
      if (settled === values.length) resolve(sum);
      else if (next < values.length) call(values[next++]!).then(onResult, reject);
    };
    if (values.length === 0) resolve(0);
    while (next < Math.min(limit, values.length)) call(values[next++]!).then(onResult, reject);
  });
}

/** Calls `call` on every value at once. Returns the sum of the results. */
export async function allAtOnce(call: (x: number) => Promise<number>, values: readonly number[]): Promise<number> {
  return (await Promise.all(values.map(call))).reduce((a, b) => a + b, 0);
}
