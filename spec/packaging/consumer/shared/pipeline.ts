// The program every toolchain consumer runs (spec/packaging/bundlers.spec.ts, test-runners.spec.ts,
// typescript-runtimes.spec.ts): a pipeline `from([1, 2, 3]).pipe(offloadToThread(task))` with an
// inline task that loads a Node module through its context, the tool's module task, a cancel and
// take(n). Each entry returns what it saw, or the error it failed with, as `Name: message`.
import { from, lastValueFrom, range, take, toArray } from 'rxjs';
import { offloadToThread, type Task, type TaskContext, ThreadPool } from 'rxthreads';

export type Saw = Record<string, unknown>;

async function attempt(saw: Saw, name: string, work: () => Promise<unknown>): Promise<void> {
  try {
    saw[name] = await work();
  } catch (error) {
    saw[name] = `${(error as Error).name}: ${(error as Error).message}`;
  }
}

/** Waits until `counts[index]` is no longer 0, for 10 s at most. */
async function changed(counts: Int32Array, index: number): Promise<void> {
  // Atomics.waitAsync alone does not keep Node running, and a cancelled task's thread is idle to
  // the pool: this timer holds the process open while the wait lasts (it is no sleep).
  const open = setTimeout(() => {}, 10_000);
  try {
    await Atomics.waitAsync(counts, index, 0, 10_000).value;
  } finally {
    clearTimeout(open);
  }
}

export async function pipelines(square: Task<number, number>): Promise<Saw> {
  const pool = new ThreadPool({ size: 2 });
  const saw: Saw = {};

  // (a) An inline task loads a Node module through its context, which no tool rewrites.
  await attempt(saw, 'ctxImport', () =>
    lastValueFrom(
      from([1, 2, 3]).pipe(
        offloadToThread(
          async (x: number, ctx: TaskContext) => {
            const { createHash } = await ctx.import<typeof import('node:crypto')>('node:crypto');
            return createHash('sha256').update(String(x)).digest('hex').slice(0, 8);
          },
          { pool },
        ),
        toArray(),
      ),
    ),
  );

  // The same with `await import()`, which some tools rewrite into a helper of their own.
  await attempt(saw, 'dynamicImport', () =>
    lastValueFrom(
      from([1, 2, 3]).pipe(
        offloadToThread(
          async (x: number) => {
            const { createHash } = await import('node:crypto');
            return createHash('sha256').update(String(x)).digest('hex').slice(0, 8);
          },
          { pool },
        ),
        toArray(),
      ),
    ),
  );

  // (b) The tool's module task: a file shipped next to the program, named as the tool allows.
  await attempt(saw, 'moduleTask', () =>
    lastValueFrom(from([1, 2, 3]).pipe(offloadToThread(square, { pool }), toArray())),
  );

  // (c) Unsubscribing while the task runs aborts ctx.signal in the thread. The task counts its start
  // and the abort it saw in shared memory: [0] started, [1] saw the abort.
  await attempt(saw, 'cancel', async () => {
    const counts = new Int32Array(new SharedArrayBuffer(8));
    let failed: unknown;
    const subscription = from([counts.buffer as SharedArrayBuffer])
      .pipe(
        offloadToThread(
          async (shared: SharedArrayBuffer, ctx: TaskContext) => {
            const mine = new Int32Array(shared);
            // The signal is made before the start is counted, so the cancel reaches it as an 'abort'
            // event. (An AbortSignal that is already aborted fires none: check `aborted` first.)
            const { signal } = ctx;
            Atomics.add(mine, 0, 1);
            Atomics.notify(mine, 0);
            if (!signal.aborted) {
              await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            }
            Atomics.add(mine, 1, 1);
            Atomics.notify(mine, 1);
          },
          { pool },
        ),
      )
      .subscribe({
        // A stream that fails before the task starts (no thread) ends the wait too.
        error: (error: unknown) => {
          failed = error;
          Atomics.store(counts, 0, -1);
          Atomics.notify(counts, 0);
        },
      });
    await changed(counts, 0);
    if (failed !== undefined) throw failed;
    subscription.unsubscribe();
    await changed(counts, 1);
    return { started: Atomics.load(counts, 0), sawAbort: Atomics.load(counts, 1) };
  });

  // (d) take(n) ends the stream after n results.
  await attempt(saw, 'take', () =>
    lastValueFrom(
      range(1, 1000).pipe(
        offloadToThread((x: number) => x * 2, { pool }),
        take(3),
        toArray(),
      ),
    ),
  );

  await pool.close();
  return saw;
}
