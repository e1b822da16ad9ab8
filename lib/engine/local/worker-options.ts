import { type ResourceLimits, SHARE_ENV, Worker } from 'node:worker_threads';
import { checkObject, optionError } from '../../util/options';

/**
 * Options passed to each `Worker` that a `ThreadPool` or an `EventLoopThread` starts.
 *
 * @example
 * ```ts
 * new ThreadPool({ env: { ...process.env, LOG_LEVEL: 'debug' }, execArgv: ['--enable-source-maps'], argv: ['--fast'] });
 * ```
 */
export interface WorkerSpawnOptions {
  /**
   * The threads' `process.env`: an object of strings (copied to each thread), or
   * `worker_threads.SHARE_ENV` to share the caller's environment (changes are seen both ways).
   * @default a copy of the caller's `process.env`
   */
  env?: Record<string, string | undefined> | typeof SHARE_ENV;
  /**
   * Node flags for each thread (`process.execArgv` there), such as `--require ./preload.js` or
   * `--enable-source-maps`. Flags that Node refuses in worker threads (V8 heap flags such as
   * `--max-old-space-size`: use `resourceLimits`) fail the thread's start.
   * @default the caller's flags, less ts-node's own (threads register ts-node when they need it)
   */
  execArgv?: string[];
  /** Arguments appended to `process.argv` in each thread. @default none */
  argv?: string[];
}

function checkStrings(name: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw optionError(name, 'an array of strings', Array.isArray(value) ? `[${value.map(String).join(', ')}]` : value);
  }
}

/**
 * Checks {@link WorkerSpawnOptions} (with the owner's `resourceLimits`, already checked) as far as
 * Node would when a thread starts; returns the fields a `Worker` takes, copied.
 */
export function workerSpawnOptions(
  options: WorkerSpawnOptions & { resourceLimits?: ResourceLimits },
): WorkerSpawnOptions {
  const { env, execArgv, argv } = options;
  if (env !== SHARE_ENV) {
    checkObject('env', env);
    if (env !== undefined) {
      for (const [key, value] of Object.entries(env)) {
        if (value !== undefined && typeof value !== 'string') throw optionError(`env.${key}`, 'a string', value);
      }
    }
  }
  checkStrings('execArgv', execArgv);
  checkStrings('argv', argv);
  const spawn: WorkerSpawnOptions = {
    ...(env !== undefined && { env: env === SHARE_ENV ? SHARE_ENV : { ...env } }),
    ...(execArgv !== undefined && { execArgv: [...execArgv] }),
    ...(argv !== undefined && { argv: [...argv] }),
  };
  probeWorkerOptions(spawn, options.resourceLimits);
  return spawn;
}

/**
 * Checks the options as Node will when each thread starts, without starting one: Node checks
 * `execArgv` (and the rest) while it makes a Worker, before it clones `workerData`, which fails
 * here on purpose (a symbol), so no thread runs and no preload is loaded. A flag Node refuses in a
 * thread is a `TypeError` now, rather than a failure of every thread later.
 */
function probeWorkerOptions(spawn: WorkerSpawnOptions, resourceLimits: ResourceLimits | undefined): void {
  if (spawn.execArgv === undefined || spawn.execArgv.length === 0) return;
  try {
    new Worker('', { eval: true, ...spawn, ...(resourceLimits && { resourceLimits }), workerData: probeData });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return;
    const refused = /flags: (.*)$/.exec((error as Error).message)?.[1] ?? spawn.execArgv.join(' ');
    const hint = /--max-old-space-size|--max-semi-space-size|--stack-size/.test(refused)
      ? ' (set heap and stack sizes with `resourceLimits`)'
      : '';
    const typeError = optionError('execArgv', 'flags Node accepts in a worker thread', refused);
    throw new TypeError(`${typeError.message}${hint}`, { cause: error });
  }
}

const probeData = Symbol('rxthreads: not cloneable, so the probe never starts a thread');
