// The demo's pipeline, as a function the CLI (index.ts) and the spec both call.
import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { from, scan } from 'rxjs';
import { EventLoopThread, moduleTask, offloadToThread, runOnLoop, ThreadPool } from 'rxthreads';

/** What the pool thread returns for one file (see process-file.cjs). */
export interface Hashed {
  path: string;
  bytes: number;
  gzipped: number;
  sha256: string;
  /** The error code, if the file could not be read. */
  unreadable?: string;
}

/** What the catalog on the event-loop thread adds (see catalog.cjs). */
export interface Recorded extends Hashed {
  duplicate: boolean;
  changed: boolean;
}

export interface Tally {
  files: number;
  bytes: number;
  gzipped: number;
  duplicates: number;
  duplicateBytes: number;
  changed: number;
  unreadable: number;
}

export interface Phase {
  tally: Tally;
  ms: number;
  /** The main event loop's delay while the phase ran (monitorEventLoopDelay), in ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  cancelled: boolean;
  /** How long the threads took to exit once the phase ended (threaded phase only). */
  stopMs?: number;
  /** The pool's `stats()` at the end of the phase (threaded phase only). */
  pool?: { utilization: number; runP50Ms: number; runP99Ms: number; waitP99Ms: number };
}

export interface DemoReport {
  root: string;
  /** Files found under `root`. */
  found: number;
  /** Files processed by each phase: all found, or the first `limit`. */
  selected: number;
  poolSize: number;
  threads: Phase;
  /** Absent if the run was cancelled before the comparison started. */
  mainThread: Phase | undefined;
}

export type PhaseName = 'threads' | 'main thread';

export interface DemoOptions {
  root: string;
  /** Process only the first `limit` files (in path order). */
  limit?: number;
  /** Pool threads. @default os.availableParallelism() */
  threads?: number;
  /** Cancels the run: the pipeline is unsubscribed and the report says what was done. */
  signal?: AbortSignal;
  /** Called as each phase starts, and as each of its files is done. */
  onPhase?: (phase: PhaseName, total: number) => void;
  onProgress?: (phase: PhaseName, tally: Tally) => void;
}

const processFile = moduleTask<string, Hashed>(join(__dirname, 'process-file.cjs'), 'processFile');
const record = moduleTask<Hashed, Recorded>(join(__dirname, 'catalog.cjs'), 'record');

/** Every regular file under `root`, in path order (symlinks are not followed). */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function emptyTally(): Tally {
  return { files: 0, bytes: 0, gzipped: 0, duplicates: 0, duplicateBytes: 0, changed: 0, unreadable: 0 };
}

function add(tally: Tally, file: Recorded): Tally {
  return {
    files: tally.files + 1,
    bytes: tally.bytes + file.bytes,
    gzipped: tally.gzipped + file.gzipped,
    duplicates: tally.duplicates + (file.duplicate ? 1 : 0),
    duplicateBytes: tally.duplicateBytes + (file.duplicate ? file.bytes : 0),
    changed: tally.changed + (file.changed ? 1 : 0),
    unreadable: tally.unreadable + (file.unreadable === undefined ? 0 : 1),
  };
}

/** Measures the main event loop's delay from now until `stop()`. */
function loopDelay(): () => { loopDelayP99Ms: number; loopDelayMaxMs: number } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return () => {
    histogram.disable();
    const ms = (ns: number): number => (histogram.count > 0 ? ns / 1e6 : 0);
    return { loopDelayP99Ms: ms(histogram.percentile(99)), loopDelayMaxMs: ms(histogram.max) };
  };
}

/** rxthreads: files are read, gzipped and hashed on pool threads, then catalogued on an event-loop thread. */
async function withThreads(paths: string[], size: number, options: DemoOptions): Promise<Phase> {
  options.onPhase?.('threads', paths.length);
  const pool = new ThreadPool({ size, name: 'demo-pool', cancelGraceMs: 500 });
  const loop = new EventLoopThread({ name: 'demo-catalog' });
  const stopDelay = loopDelay();
  const started = performance.now();
  let tally = emptyTally();
  let cancelled = false;
  const finished = new Promise<void>((resolve, reject) => {
    const subscription = from(paths)
      .pipe(
        offloadToThread(processFile, { pool, ordered: false }),
        runOnLoop(loop, record, { concurrency: 64, ordered: false }),
        scan(add, emptyTally()),
      )
      .subscribe({
        next: (next) => {
          tally = next;
          options.onProgress?.('threads', tally);
        },
        error: reject,
        complete: resolve,
      });
    const cancel = (): void => {
      cancelled = true;
      subscription.unsubscribe(); // queued files never start; running tasks see ctx.signal abort
      resolve();
    };
    if (options.signal?.aborted) cancel();
    else options.signal?.addEventListener('abort', cancel, { once: true });
  });
  const failure = await finished.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  const ms = performance.now() - started;
  const delay = stopDelay();
  const { utilization, runTime, waitTime } = pool.stats();
  const poolStats = { utilization, runP50Ms: runTime.p50, runP99Ms: runTime.p99, waitP99Ms: waitTime.p99 };
  const stopping = performance.now();
  // close() lets cancelled tasks wind down, then resolves once every thread has exited.
  await Promise.all([pool.close(), loop.close()]);
  const stopMs = performance.now() - stopping;
  if (failure !== undefined) throw failure.error;
  return { tally, ms, ...delay, cancelled, stopMs, pool: poolStats };
}

interface DemoModules {
  processFile: (path: string) => Hashed;
  createCatalog: () => (file: Hashed) => Promise<Recorded>;
}

/** The same work, the same functions, on the main thread alone: one file after another. */
async function onMainThread(paths: string[], options: DemoOptions): Promise<Phase> {
  const { processFile: processHere } = require('./process-file.cjs') as Pick<DemoModules, 'processFile'>;
  const { createCatalog } = require('./catalog.cjs') as Pick<DemoModules, 'createCatalog'>;
  const recordHere = createCatalog();
  options.onPhase?.('main thread', paths.length);
  const stopDelay = loopDelay();
  const started = performance.now();
  let tally = emptyTally();
  let cancelled = false;
  for (const path of paths) {
    if (options.signal?.aborted) {
      cancelled = true;
      break;
    }
    tally = add(tally, await recordHere(processHere(path)));
    options.onProgress?.('main thread', tally);
  }
  const ms = performance.now() - started;
  return { tally, ms, ...stopDelay(), cancelled };
}

/** Runs the pipeline on the files under `root` with threads, then on the main thread alone. */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const all = await listFiles(options.root);
  const paths = options.limit === undefined ? all : all.slice(0, options.limit);
  const poolSize = options.threads ?? availableParallelism();
  const threads = await withThreads(paths, poolSize, options);
  const mainThread = threads.cancelled ? undefined : await onMainThread(paths, options);
  return { root: options.root, found: all.length, selected: paths.length, poolSize, threads, mainThread };
}
