'use strict';
const { move } = require('piscina');
const { inc, spin, touch, burn, never } = require('./work.cjs');

module.exports = {
  inc,
  spin,
  copy: touch,
  move: (bytes) => move(touch(bytes)),
  burn: (input) => burn(input, never),
};
