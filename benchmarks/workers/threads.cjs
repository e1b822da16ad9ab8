'use strict';
const { expose, Transfer } = require('threads/worker');
const { inc, spin, touch, burn, never } = require('./work.cjs');

expose({
  inc,
  spin,
  copy: touch,
  move: (bytes) => Transfer(touch(bytes), [bytes.buffer]),
  burn: (input) => burn(input, never),
});
