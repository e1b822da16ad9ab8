'use strict';
const workerpool = require('workerpool');
const { inc, spin, touch, burn, never } = require('./work.cjs');

workerpool.worker({
  inc,
  spin,
  copy: touch,
  move: (bytes) => new workerpool.Transfer(touch(bytes), [bytes.buffer]),
  burn: (input) => burn(input, never),
});
