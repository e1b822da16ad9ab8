'use strict';
// A pool-thread task: the CPU-bound part of the demo (a read, gzip and SHA-256), written as plain
// CommonJS so that a thread loads it at once, with no TypeScript compiler to start first.
const { readFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { gzipSync } = require('node:zlib');

/**
 * Reads one file, gzips it and hashes it. The main thread runs this very function for the
 * comparison, without a `ctx`.
 *
 * @param {string} path
 * @param {import('rxthreads/worker').TaskContext} [ctx]
 * @returns {{ path: string; bytes: number; gzipped: number; sha256: string; unreadable?: string }}
 */
function processFile(path, ctx) {
  let data;
  try {
    data = readFileSync(path);
  } catch (error) {
    // A file that vanished or that we may not read is counted, not fatal to the whole run.
    return { path, bytes: 0, gzipped: 0, sha256: '', unreadable: error.code ?? String(error) };
  }
  // Each step of a big file takes a while: stop between them once the run is cancelled.
  ctx?.throwIfAborted();
  const gzipped = gzipSync(data).byteLength;
  ctx?.throwIfAborted();
  const sha256 = createHash('sha256').update(data).digest('hex');
  return { path, bytes: data.byteLength, gzipped, sha256 };
}

module.exports = { processFile };
