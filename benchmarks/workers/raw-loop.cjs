'use strict';
// The plain loop's worker: adds 1 in place to every value of the array it is sent (an Array or a
// Float64Array) and posts the same array back; with workerData.transfer, a typed array's buffer
// is moved back rather than copied, as it was moved here.
const { parentPort, workerData } = require('node:worker_threads');
const { inc } = require('./work.cjs');

const transfer = workerData?.transfer === true;

parentPort.on('message', (values) => {
  for (let i = 0; i < values.length; i++) values[i] = inc(values[i]);
  parentPort.postMessage(values, transfer ? [values.buffer] : undefined);
});
