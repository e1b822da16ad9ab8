/// <reference lib="dom" />
// The hand-written worker of the raw postMessage baseline, as workers/raw-loop.cjs and
// workers/raw.cjs are on Node. A slice (an Array or a Float64Array): adds 1 to every value in place
// and posts the same slice back, its buffer moved back when the worker's URL says `?transfer`
// (it was moved here). `{ id, x }`: one task, answered `{ id, value }`.
import { inc } from './work';

const transfer = new URLSearchParams(self.location.search).has('transfer');

self.onmessage = ({ data }: MessageEvent<number[] | Float64Array | { id: number; x: number }>) => {
  if (Array.isArray(data) || data instanceof Float64Array) {
    for (let i = 0; i < data.length; i++) data[i] = inc(data[i]!);
    self.postMessage(data, transfer && data instanceof Float64Array ? { transfer: [data.buffer] } : {});
    return;
  }
  self.postMessage({ id: data.id, value: inc(data.x) });
};
