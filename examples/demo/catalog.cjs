'use strict';
// An event-loop-thread task: the async side of the demo. The catalog remembers every content
// hash it has seen (module state lives as long as the thread), and checks with an async stat
// that the file did not change while it was being read.
const { stat } = require('node:fs/promises');

/**
 * A fresh catalog: `record(file)` says whether its content was seen before.
 *
 * @returns {(file: { path: string; bytes: number; gzipped: number; sha256: string; unreadable?: string }) =>
 *   Promise<{ path: string; bytes: number; gzipped: number; sha256: string; unreadable?: string;
 *     duplicate: boolean; changed: boolean }>}
 */
function createCatalog() {
  /** @type {Set<string>} */
  const seen = new Set();
  return async function record(file) {
    if (file.unreadable !== undefined) return { ...file, duplicate: false, changed: false };
    // Decided before the await, so two files with the same content never both count as new.
    const duplicate = seen.has(file.sha256);
    seen.add(file.sha256);
    const now = await stat(file.path);
    return { ...file, duplicate, changed: now.size !== file.bytes };
  };
}

// The catalog of this thread: one per EventLoopThread, since each thread loads the module anew.
const record = createCatalog();

module.exports = { createCatalog, record };
