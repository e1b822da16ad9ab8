'use strict';
// A hand-written worker: one message per task ({ id, fn, input }), or one per batch of inputs.
const { parentPort } = require('node:worker_threads');
const { inc, spin, touch, burn, never } = require('./work.cjs');

const fns = {
  inc,
  spin,
  copy: touch,
  move: touch,
  burn: (input) => burn(input, never),
  burnCooperative: (input) => burn(input, () => Atomics.load(new Int32Array(input.stop), 0) !== 0),
};

parentPort.on('message', (message) => {
  if (message.batch !== undefined) {
    const out = message.batch;
    for (let i = 0; i < out.length; i++) out[i] = inc(out[i]);
    parentPort.postMessage({ id: message.id, result: out });
    return;
  }
  const result = fns[message.fn](message.input);
  parentPort.postMessage({ id: message.id, result }, message.fn === 'move' ? [result.buffer] : []);
});
