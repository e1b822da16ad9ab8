'use strict';
// The work every library runs, so that all of them run the same code.

function inc(x) {
  return x + 1;
}

// Integer work: `n` rounds of xorshift32.
function spin(n) {
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x | 0;
}

// Reads the buffer so that the payload is really used, then hands it back.
function touch(bytes) {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 4096) sum += bytes[i];
  bytes[0] = sum & 0xff;
  return bytes;
}

// Spins until `stop()` says so or `maxMs` passes, writing a heartbeat (process.hrtime in ns, one
// clock for every thread) to shared memory after each slice, so the caller sees when the CPU stops.
function burn({ beat, maxMs }, stop) {
  const heartbeat = new BigInt64Array(beat);
  const end = process.hrtime.bigint() + BigInt(maxMs) * 1_000_000n;
  let x = 0;
  for (;;) {
    x ^= spin(2000);
    const now = process.hrtime.bigint();
    Atomics.store(heartbeat, 0, now);
    if (now > end || stop()) return x;
  }
}

const never = () => false;

module.exports = { inc, spin, touch, burn, never };
