// Used as a type only, so no build imports it at run time (a browser has no node: module); kept a plain
// import so that the declarations (and the API report) name it as before.
// biome-ignore lint/style/useImportType: see above
import { SHARE_ENV } from 'node:worker_threads';
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

/** `worker_threads.SHARE_ENV`, which Node registers under this name (a value no browser build may import). */
const shareEnv: typeof SHARE_ENV = Symbol.for('nodejs.worker_threads.SHARE_ENV') as typeof SHARE_ENV;

/**
 * Checks the form of {@link WorkerSpawnOptions}; returns the fields a `Worker` takes, copied. The
 * platform then checks them as it will when a thread starts (`checkSpawnOptions`).
 */
export function workerSpawnOptions(options: WorkerSpawnOptions): WorkerSpawnOptions {
  const { env, execArgv, argv } = options;
  if (env !== shareEnv) {
    checkObject('env', env);
    // An array is an object too, and its entries would become variables named 0, 1, …
    if (Array.isArray(env)) throw optionError('env', 'an object of strings, or SHARE_ENV', env);
    if (env !== undefined) {
      for (const [key, value] of Object.entries(env)) {
        if (value !== undefined && typeof value !== 'string') throw optionError(`env.${key}`, 'a string', value);
      }
    }
  }
  checkStrings('execArgv', execArgv);
  checkStrings('argv', argv);
  return {
    ...(env !== undefined && {
      env: env === shareEnv ? shareEnv : { ...(env as Record<string, string | undefined>) },
    }),
    ...(execArgv !== undefined && { execArgv: [...execArgv] }),
    ...(argv !== undefined && { argv: [...argv] }),
  };
}
