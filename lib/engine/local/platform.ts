import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Worker, type WorkerOptions, Worker as WorkerThread } from 'node:worker_threads';
import { transferList } from '../../task/context';
import type { ThreadInit } from '../../wire/thread';
import type { PlatformThread, ThreadListener, ThreadStart } from '../platform';

/** The Node platform: each thread is a worker thread started on a script of this package. */
const scripts = {
  pool: join(__dirname, '..', '..', 'thread', 'entry.js'),
  stage: join(__dirname, '..', '..', 'thread', 'stage-entry.js'),
} as const;

/** Starts a thread: a worker thread on the script `start` names, its events sent to `listener`. */
export function spawnThread(start: ThreadStart, listener: ThreadListener): PlatformThread {
  const worker = startWorker(scripts[start.script], {
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

const found = new Set<string>();

/** Starts a worker thread on an rxthreads entry script, with the caller's flags less ts-node's. */
function startWorker(filename: string, options: WorkerOptions): Worker {
  if (!found.has(filename)) {
    if (!existsSync(filename)) {
      throw new Error(
        `rxthreads could not find its thread script ${filename}, which ships in the rxthreads package. ` +
          'An app bundled into one file (esbuild, webpack, rollup) leaves it behind: keep rxthreads external ' +
          '(not bundled), as docs/toolchains.md explains',
      );
    }
    found.add(filename);
  }
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
