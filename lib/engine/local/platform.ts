import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  MessageChannel,
  type MessagePort,
  type ResourceLimits,
  receiveMessageOnPort,
  type Worker,
  type WorkerOptions,
  Worker as WorkerThread,
} from 'node:worker_threads';
import { transferList } from '../../task/context';
import { optionError } from '../../util/options';
import type { RunMode, ThreadInit } from '../../wire/thread';
import type { PlatformChannel, PlatformPort, PlatformThread, ThreadListener, ThreadStart } from '../platform';
import { embeddedScripts } from './scripts';
import type { WorkerSpawnOptions } from './worker-options';

/** Script files known to be there, so that each is looked for once. */
const found = new Set<string>();

/** The Node platform: each thread is a worker thread started on a script of this package. */
// In the ES module build, and in a bundle, there is no `__dirname`, and no script file to find.
const here = typeof __dirname === 'string' ? __dirname : undefined;
const scripts = {
  pool: here === undefined ? undefined : join(here, '..', '..', 'thread', 'entry.js'),
  stage: here === undefined ? undefined : join(here, '..', '..', 'thread', 'stage-entry.js'),
};

/**
 * Where a thread's script comes from: its file, or, where the file is not there (an app bundled
 * into one file), the copy of it that this package's code carries, run as source (`eval`).
 */
function scriptOf(name: keyof typeof scripts): { readonly script: string; readonly eval: boolean } {
  const file = scripts[name];
  if (file !== undefined && (found.has(file) || existsSync(file))) {
    found.add(file);
    return { script: file, eval: false };
  }
  const source = embeddedScripts[name];
  if (source !== undefined) return { script: source, eval: true };
  throw new Error(
    `rxthreads could not find its thread script ${file}, and this copy of rxthreads carries none of its own: ` +
      'it was not built (`npm run build`)',
  );
}

/** Starts a thread: a worker thread on the script `start` names, its events sent to `listener`. */
export function spawnThread(start: ThreadStart, listener: ThreadListener): PlatformThread {
  const { script, eval: isSource } = scriptOf(start.script);
  const worker = startWorker(script, {
    eval: isSource,
    workerData: start.data,
    ...(start.transfer && { transferList: start.transfer as WorkerOptions['transferList'] }),
    ...(start.resourceLimits && { resourceLimits: start.resourceLimits }),
    ...(start.name && { name: start.name }),
    ...start.worker,
  });
  worker.on('message', (message: unknown) => listener.message(message));
  worker.on('error', (error) => listener.error(error));
  worker.on('exit', (code) => listener.exit(code));
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transferList(transfer)),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: () => void worker.terminate(),
  };
}

let tsNode: ThreadInit['tsNode'] | null = null;
/** If this process runs under ts-node, what a thread needs to register it for `.ts` task modules. */
export function tsNodeInit(): ThreadInit['tsNode'] {
  if (tsNode !== null) return tsNode;
  tsNode = undefined;
  const instance = (process as unknown as Record<symbol, { configFilePath?: unknown } | undefined>)[
    Symbol.for('ts-node.register.instance')
  ];
  if (instance !== undefined) {
    for (const paths of [[process.cwd()], undefined]) {
      try {
        const path = require.resolve('ts-node', paths && { paths });
        const options: Record<string, unknown> = { transpileOnly: true };
        if (typeof instance.configFilePath === 'string') options.project = instance.configFilePath;
        tsNode = { path, options };
        break;
      } catch {
        // try the next place
      }
    }
  }
  return tsNode;
}

/**
 * The caller's Node flags less ts-node's, or `undefined` when there is nothing to take out: threads
 * register ts-node themselves, only when they load a `.ts` task module, rather than each paying
 * for TypeScript at start-up.
 */
function execArgvWithoutTsNode(): string[] | undefined {
  const argv: string[] = [];
  const flags = process.execArgv;
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    if ((flag === '-r' || flag === '--require') && /^ts-node\/register/.test(flags[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^(-r|--require)=ts-node\/register/.test(flag)) continue;
    argv.push(flag);
  }
  return argv.length === flags.length ? undefined : argv;
}

/** Starts a worker thread on an rxthreads script (a file, or its source), with the caller's flags less ts-node's. */
function startWorker(filename: string, options: WorkerOptions): Worker {
  if (options.execArgv !== undefined) return new WorkerThread(filename, options); // the caller's choice, as given
  let execArgv = execArgvWithoutTsNode();
  for (let attempt = 0; execArgv !== undefined && attempt < 2; attempt++) {
    try {
      return new WorkerThread(filename, { ...options, execArgv });
    } catch (error) {
      // Flags given explicitly are checked, and a thread refuses some (V8's, such as --expose-gc),
      // which Node drops by itself from inherited ones. Drop those it names and try again; failing
      // that, inherit every flag, ts-node's included.
      if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
      const refused = new Set(/flags: (.*)$/.exec((error as Error).message)?.[1]?.split(', ') ?? []);
      execArgv = refused.size > 0 ? execArgv.filter((flag) => !refused.has(flag)) : undefined;
    }
  }
  return new WorkerThread(filename, options);
}

/** Cores the process may use. */
export function coreCount(): number {
  return availableParallelism();
}

/** A pool's size when none is given: one thread per core the process may use. */
export function defaultThreadCount(): number {
  return availableParallelism();
}

/** A message channel for a stage thread: Node's ports already have the methods of {@link PlatformPort}. */
export function messageChannel(): PlatformChannel {
  const { port1, port2 } = new MessageChannel();
  return { local: port1 as unknown as PlatformPort, remote: port2 };
}

/** A message already waiting on `port`, taken without a turn of the event loop. */
export function receiveNow(port: PlatformPort): { readonly message: unknown } | undefined {
  return receiveMessageOnPort(port as unknown as MessagePort);
}

/** Slots per thread: as many as the owner asks for (threads share memory with the caller). */
export function slotsPerThread(slots: number, _mode: RunMode): number {
  return slots;
}

/** The caller's thread may block on `Atomics.wait` (`inThread`'s `overflow: 'block'`). */
export const canBlockCaller = true;

/** A warning for the developer: Node's process warning, which `--no-warnings` and listeners see. */
export function warn(message: string, options: { readonly type: string; readonly code: string }): void {
  process.emitWarning(message, options);
}

/**
 * Checks the options as Node will when each thread starts, without starting one: Node checks
 * `execArgv` (and the rest) while it makes a Worker, before it clones `workerData`, which fails
 * here on purpose (a symbol), so no thread runs and no preload is loaded. A flag Node refuses in a
 * thread is a `TypeError` now, rather than a failure of every thread later.
 */
export function checkSpawnOptions(
  spawn: WorkerSpawnOptions,
  resourceLimits: ResourceLimits | undefined,
): WorkerSpawnOptions {
  if (spawn.execArgv === undefined || spawn.execArgv.length === 0) return spawn;
  try {
    new WorkerThread('', { eval: true, ...spawn, ...(resourceLimits && { resourceLimits }), workerData: probeData });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return spawn;
    const refused = /flags: (.*)$/.exec((error as Error).message)?.[1] ?? spawn.execArgv.join(' ');
    const hint = /--max-old-space-size|--max-semi-space-size|--stack-size/.test(refused)
      ? ' (set heap and stack sizes with `resourceLimits`)'
      : '';
    const typeError = optionError('execArgv', 'flags Node accepts in a worker thread', refused);
    throw new TypeError(`${typeError.message}${hint}`, { cause: error });
  }
  return spawn;
}

const probeData = Symbol('rxthreads: not cloneable, so the probe never starts a thread');
