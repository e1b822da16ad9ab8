import { SHARE_ENV } from 'node:worker_threads';
import { checkObject, optionError } from './validate';

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

/** Checks {@link WorkerSpawnOptions}; returns the fields a `Worker` takes, copied. */
export function workerSpawnOptions(options: WorkerSpawnOptions): WorkerSpawnOptions {
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
  return {
    ...(env !== undefined && { env: env === SHARE_ENV ? SHARE_ENV : { ...env } }),
    ...(execArgv !== undefined && { execArgv: [...execArgv] }),
    ...(argv !== undefined && { argv: [...argv] }),
  };
}
