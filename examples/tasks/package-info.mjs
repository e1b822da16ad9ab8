// A task module in plain JavaScript (an ES module), for an EventLoopThread: it is loaded once, so
// its cache lives as long as the thread, and many lookups run on the thread's loop at once.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** @type {Map<string, Promise<{ name: string; version: string; license: string }>>} */
const cache = new Map();
const counters = { lookups: 0, cacheHits: 0, reads: 0, inFlight: 0, maxInFlight: 0 };

async function read(dir, signal) {
  counters.reads++;
  counters.inFlight++;
  counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
  try {
    const json = JSON.parse(await readFile(join(dir, 'package.json'), { encoding: 'utf8', signal }));
    return { name: json.name, version: json.version, license: String(json.license ?? 'unknown') };
  } finally {
    counters.inFlight--;
  }
}

/**
 * The name, version and license of the package in `dir`, read once and then served from the cache.
 *
 * @param {string} dir an absolute path
 * @param {import('rxthreads/worker').TaskContext} ctx
 */
export function lookup(dir, ctx) {
  counters.lookups++;
  let info = cache.get(dir);
  if (info === undefined) {
    info = read(dir, ctx.signal);
    cache.set(dir, info);
    info.catch(() => cache.delete(dir)); // a failed read is tried again next time
  } else {
    counters.cacheHits++;
  }
  return info;
}

/** What the service has done so far. */
export function stats() {
  return { ...counters, cached: cache.size };
}
