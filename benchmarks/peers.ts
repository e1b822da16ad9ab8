/**
 * One adapter per library, so that every benchmark drives them all the same way. Each runs the
 * functions of `workers/work.cjs` through its own worker file, with its default options except
 * the thread count.
 */
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { from, lastValueFrom, reduce } from 'rxjs';
import { moduleTask, offloadToThread, ThreadPool } from 'rxthreads';
import { Pool, spawn, Transfer, Worker } from 'threads';
import workerpool from 'workerpool';
import { RawPool } from './raw';

export { allAtOnce, inFlight } from './slices';

export type Fn = 'inc' | 'spin' | 'copy' | 'move' | 'burn' | 'burnCooperative';

export interface CallOptions {
  readonly transfer?: ArrayBuffer[];
  readonly signal?: AbortSignal;
}

export interface Peer {
  call<O>(fn: Fn, input: unknown, options?: CallOptions): Promise<O>;
  close(): Promise<void>;
}

export interface Library {
  readonly name: string;
  open(threads: number): Promise<Peer>;
}

export const workerFile = (name: string): string => join(__dirname, 'workers', `${name}.cjs`);

export const rxTask = <I, O>(fn: Fn) => moduleTask<I, O>(workerFile('rxthreads'), fn);

export async function openRxthreads(threads: number): Promise<ThreadPool> {
  const pool = new ThreadPool({ size: threads });
  await Promise.all(Array.from({ length: threads * 2 }, (_, i) => pool.run(rxTask('inc'), i)));
  return pool;
}

export const rxthreadsRun: Library = {
  name: 'rxthreads pool.run',
  async open(threads) {
    const pool = await openRxthreads(threads);
    return {
      call: (fn, input, options = {}) => pool.run(rxTask(fn), input, options),
      close: () => pool.close(),
    };
  },
};

/** piscina with its defaults but the thread count, or with `concurrentTasksPerWorker` too. */
export function piscinaWith(options: { readonly concurrentTasksPerWorker?: number } = {}): Library {
  return {
    name: 'piscina',
    async open(threads) {
      const pool = new Piscina({
        filename: workerFile('piscina'),
        minThreads: threads,
        maxThreads: threads,
        ...options,
      });
      await Promise.all(Array.from({ length: threads * 2 }, (_, i) => pool.run(i, { name: 'inc' })));
      return {
        call: (fn, input, { transfer, signal } = {}) => pool.run(input, { name: fn, transferList: transfer, signal }),
        close: () => pool.destroy(),
      };
    },
  };
}

export const piscina: Library = piscinaWith();

export const workerpoolLib: Library = {
  name: 'workerpool',
  async open(threads) {
    const pool = workerpool.pool(workerFile('workerpool'), {
      minWorkers: threads,
      maxWorkers: threads,
      workerType: 'thread',
    });
    await Promise.all(Array.from({ length: threads * 2 }, (_, i) => pool.exec('inc', [i])));
    return {
      call: (fn, input, { transfer, signal } = {}) => {
        const promise = pool.exec(fn, [input], transfer === undefined ? undefined : { transfer });
        // `void`: Node rethrows the rejection of a thenable that an EventTarget listener returns.
        signal?.addEventListener('abort', () => void promise.cancel(), { once: true });
        return promise;
      },
      close: async () => {
        await pool.terminate(true);
      },
    };
  },
};

type Exposed = Record<Fn, (input: unknown) => Promise<unknown>>;

/**
 * threads.js with its defaults but the pool size, or with `concurrency` (tasks a worker is given
 * at once; default 1) too. threads.js adds a message listener per task a worker holds, so more
 * than 10 would warn: the limit is lifted.
 */
export function threadsJsWith(options: { readonly concurrency?: number } = {}): Library {
  return {
    name: 'threads.js Pool',
    async open(threads) {
      // threads.js joins the caller's directory to any path, absolute or not.
      const pool = Pool(
        () => {
          const worker = new Worker('./workers/threads.cjs');
          (worker as unknown as EventEmitter).setMaxListeners(0);
          return spawn<Exposed>(worker);
        },
        { size: threads, ...options },
      );
      await Promise.all(Array.from({ length: threads * 2 }, (_, i) => pool.queue((w) => w.inc(i))));
      return {
        call: <O>(fn: Fn, input: unknown, { transfer, signal }: CallOptions = {}) => {
          const payload = transfer === undefined ? input : Transfer(input, transfer);
          const task = pool.queue((w) => w[fn](payload));
          // threads.js can cancel a task that waits in its queue; a running one runs on.
          signal?.addEventListener('abort', () => task.cancel(), { once: true });
          return task.then((value) => value as O);
        },
        close: () => pool.terminate(true),
      };
    },
  };
}

export const threadsJs: Library = threadsJsWith();

export const raw: Library = {
  name: 'raw worker_threads',
  async open(threads) {
    const pool = new RawPool(threads);
    await pool.ready();
    return {
      call: (fn, input, { transfer, signal } = {}) => pool.call(fn, input, transfer, signal),
      close: () => pool.close(),
    };
  },
};

/** The peers, in the order the tables list them. */
export const peers: Library[] = [piscina, workerpoolLib, threadsJs, raw];

/**
 * Runs `inputs` through `spin` on rxthreads (`offloadToThread`) and then on every peer, each with
 * its own pool of `threads`; `measure` times each case and gets the sum of the results.
 */
export async function spinOnEveryLibrary(
  threads: number,
  inputs: readonly number[],
  measure: (label: string, once: () => Promise<number>) => Promise<void>,
): Promise<void> {
  const pool = await openRxthreads(threads);
  await measure('rxthreads offloadToThread', () =>
    lastValueFrom(
      from(inputs).pipe(
        offloadToThread(rxTask<number, number>('spin'), { pool }),
        reduce((a, b) => a + b, 0),
      ),
    ),
  );
  await pool.close();
  for (const lib of peers) {
    const peer = await lib.open(threads);
    await measure(lib === raw ? 'raw worker_threads' : lib.name, async () => {
      const out = await Promise.all(inputs.map((n) => peer.call<number>('spin', n)));
      return out.reduce((a, b) => a + b, 0);
    });
    await peer.close();
  }
}
