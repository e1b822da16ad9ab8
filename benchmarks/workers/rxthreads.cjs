'use strict';
const { inc, spin, touch, burn, never } = require('./work.cjs');

module.exports = {
  inc,
  spin,
  copy: touch,
  move: (bytes, ctx) => ctx.transfer(touch(bytes), [bytes.buffer]),
  burn: (input) => burn(input, never),
  burnCooperative: (input, ctx) => burn(input, () => ctx.aborted),
};
