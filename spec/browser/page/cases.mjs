// The browser tier's cases, run in a page by spec/browser/*.spec.ts (one `it` each). The page
// imports rxthreads by its package name, so the bundler takes dist/browser through the `browser`
// export condition. Each case makes what it needs, closes it, and returns plain data for the
// spec to check. Threads report what happens inside them on a BroadcastChannel, which works with
// or without shared memory.

import { concat, EMPTY, interval, lastValueFrom, map, of, range, Subject, take, tap, throwError, toArray } from 'rxjs';
import {
  EventLoopThread,
  inlineTask,
  inThread,
  moduleTask,
  offloadFrom,
  offloadToThread,
  runOnLoop,
  ThreadPool,
} from 'rxthreads';

const math = (name) => moduleTask(new URL('./tasks/math.js', import.meta.url), name);

/** An error as plain data. */
function described(error) {
  if (!(error instanceof Error)) return { thrown: String(error) };
  return {
    name: error.name,
    message: error.message,
    exitCode: error.exitCode,
    isError: true,
    cause: error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined,
  };
}

/** Subscribes, and resolves with what the stream did. */
function outcome(output$) {
  return new Promise((resolve) => {
    const values = [];
    output$.subscribe({
      next: (value) => values.push(value),
      error: (error) => resolve({ values, error: described(error) }),
      complete: () => resolve({ values, complete: true }),
    });
  });
}

function rejection(promise) {
  return promise.then(
    (value) => ({ value }),
    (error) => ({ error: described(error) }),
  );
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What threads say on the spec's channel while `during` runs, and for `afterMs` after. */
async function heard(during, afterMs = 0) {
  const channel = new BroadcastChannel('rxthreads-spec');
  const messages = [];
  channel.onmessage = (event) => messages.push(event.data);
  try {
    const result = await during(messages);
    await sleep(afterMs);
    return { result, messages };
  } finally {
    channel.close();
  }
}

/** Waits until `messages` holds `count` messages, or `ms` pass. */
async function until(messages, count, ms = 5000) {
  const deadline = performance.now() + ms;
  while (messages.length < count && performance.now() < deadline) await sleep(5);
}

async function withPool(options, use) {
  const pool = new ThreadPool(options);
  try {
    return await use(pool);
  } finally {
    await pool.terminate();
  }
}

const cases = {
  isolation: async () => ({ crossOriginIsolated, sharedArrayBuffer: typeof SharedArrayBuffer }),

  empty: () => withPool({ size: 1 }, (pool) => outcome(EMPTY.pipe(offloadToThread((x) => x, { pool })))),

  one: () => withPool({ size: 1 }, (pool) => outcome(of(7).pipe(offloadToThread(math('default'), { pool })))),

  many: () =>
    withPool({ size: 2 }, async (pool) => ({
      ordered: await outcome(range(1, 300).pipe(offloadToThread((x) => x * 2, { pool }))),
      unordered: await outcome(
        range(1, 300).pipe(
          offloadToThread((x) => x * 2, { pool, ordered: false }),
          toArray(),
          map((all) => all.sort((a, b) => a - b)),
        ),
      ),
    })),

  /** At most `concurrency` tasks of the stream run at once: each task says when it ran. */
  concurrency: () =>
    withPool({ size: 3 }, async (pool) => {
      const spans = await lastValueFrom(
        range(0, 12).pipe(
          offloadToThread(
            async () => {
              const start = performance.timeOrigin + performance.now();
              await new Promise((resolve) => setTimeout(resolve, 20));
              return [start, performance.timeOrigin + performance.now()];
            },
            { pool, concurrency: 2, ordered: false },
          ),
          toArray(),
        ),
      );
      let most = 0;
      for (const [start] of spans) most = Math.max(most, spans.filter(([s, e]) => s <= start && start < e).length);
      return { count: spans.length, most };
    }),

  sourceError: () =>
    withPool({ size: 1 }, (pool) =>
      outcome(
        concat(
          of(1, 2),
          throwError(() => new Error('the source broke')),
        ).pipe(offloadToThread((x) => x, { pool })),
      ),
    ),

  throwingTask: () =>
    withPool({ size: 2 }, (pool) =>
      outcome(
        range(1, 5).pipe(
          offloadToThread(
            (x) => {
              if (x === 3) throw new RangeError(`no ${x}`);
              return x;
            },
            { pool },
          ),
        ),
      ),
    ),

  moduleTaskThrows: () => withPool({ size: 1 }, (pool) => rejection(pool.run(math('fail'), 'from a module'))),

  /** Unsubscribing after the first result: values still queued never start. */
  unsubscribe: () =>
    withPool({ size: 1, cancelGraceMs: 1000 }, (pool) =>
      heard(async (messages) => {
        const source = new Subject();
        const values = [];
        const subscription = source
          .pipe(
            offloadToThread(
              async (x) => {
                new BroadcastChannel('rxthreads-spec').postMessage(x);
                await new Promise((resolve) => setTimeout(resolve, 30));
                return x;
              },
              { pool, concurrency: 1 },
            ),
          )
          .subscribe((value) => {
            values.push(value);
            subscription.unsubscribe();
          });
        for (let x = 0; x < 20; x++) source.next(x);
        while (values.length === 0) await sleep(5);
        await sleep(200);
        return { values, started: messages.length, after: await pool.run((x) => x + 1, 1) };
      }),
    ),

  take: () =>
    withPool({ size: 2 }, (pool) =>
      heard(async (messages) => {
        const values = await lastValueFrom(
          range(0, 1000).pipe(
            offloadToThread(
              async (x) => {
                new BroadcastChannel('rxthreads-spec').postMessage(x);
                await new Promise((resolve) => setTimeout(resolve, 5));
                return x;
              },
              { pool, concurrency: 2, ordered: false },
            ),
            take(3),
            toArray(),
          ),
        );
        await sleep(200);
        return { values, started: messages.length, stats: pool.stats() };
      }),
    ),

  /** A running task sees its cancel through ctx.signal (it awaits, so the message reaches it). */
  cancelRunning: () =>
    withPool({ size: 1, cancelGraceMs: 2000 }, (pool) =>
      heard(async (messages) => {
        const subscription = of(1)
          .pipe(
            offloadToThread(
              (_, ctx) =>
                new Promise((resolve) => {
                  const channel = new BroadcastChannel('rxthreads-spec');
                  channel.postMessage('started');
                  ctx.signal.addEventListener('abort', () => {
                    channel.postMessage({ aborted: ctx.aborted, reason: ctx.signal.reason.name });
                    resolve('stopped');
                  });
                }),
              { pool },
            ),
          )
          .subscribe();
        await until(messages, 1);
        subscription.unsubscribe();
        await until(messages, 2);
        return { messages: [...messages], after: await pool.run((x) => x * 3, 3), stats: pool.stats() };
      }),
    ),

  /** A synchronous loop reads ctx.aborted: shared memory tells it at once; without, it never sees it and its thread is replaced. */
  syncCancel: () =>
    withPool({ size: 1, cancelGraceMs: 300 }, (pool) =>
      heard(async (messages) => {
        const subscription = of(1)
          .pipe(
            offloadToThread(
              (_, ctx) => {
                const channel = new BroadcastChannel('rxthreads-spec');
                channel.postMessage('started');
                const end = Date.now() + 3000;
                while (Date.now() < end) if (ctx.aborted) return channel.postMessage('saw aborted');
                channel.postMessage('never saw it');
              },
              { pool },
            ),
          )
          .subscribe();
        await until(messages, 1);
        const cancelledAt = performance.now();
        subscription.unsubscribe();
        const after = await pool.run((x) => x + 1, 1);
        return { after, afterMs: Math.round(performance.now() - cancelledAt) };
      }, 200),
    ),

  /** A task that ignores its cancel has its thread ended and replaced after cancelGraceMs. */
  graceReplace: () =>
    withPool({ size: 1, cancelGraceMs: 100 }, async (pool) => {
      const stuck = pool.run(
        () => {
          for (;;);
        },
        0,
        { signal: AbortSignal.timeout(100) },
      );
      const first = await rejection(stuck);
      const started = performance.now();
      const after = await pool.run((x) => x * 2, 21);
      return { first, after, ms: Math.round(performance.now() - started), stats: pool.stats() };
    }),

  /** An error nobody catches in a thread ends that thread and fails only its task. */
  crash: () =>
    withPool({ size: 2 }, async (pool) => {
      const results = await lastValueFrom(
        range(0, 6).pipe(
          offloadToThread(
            async (x) => {
              if (x === 2) {
                setTimeout(() => {
                  throw new Error('thrown in a timer');
                });
                await new Promise(() => {});
              }
              return x;
            },
            { pool, settle: true },
          ),
          map((entry) =>
            entry.status === 'fulfilled' ? entry.value : { input: entry.input, error: described(entry.reason) },
          ),
          toArray(),
        ),
      );
      return { results, after: await pool.run((x) => x + 1, 1) };
    }),

  transfer: () =>
    withPool({ size: 1 }, async (pool) => {
      const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
      const back = await lastValueFrom(
        of(buffer).pipe(
          offloadToThread(
            (bytes, ctx) => {
              const view = new Uint8Array(bytes);
              for (let i = 0; i < view.length; i++) view[i] *= 10;
              return ctx.transfer(bytes, [bytes]);
            },
            { pool, transfer: (bytes) => [bytes] },
          ),
        ),
      );
      const bitmap = await createImageBitmap(new ImageData(new Uint8ClampedArray(4 * 3 * 2).fill(255), 3, 2));
      const size = await pool.run((image) => [image.width, image.height], bitmap, { transfer: [bitmap] });
      const canvas = new OffscreenCanvas(5, 4);
      const drawn = await pool.run(
        (offscreen, ctx) => {
          const context = offscreen.getContext('2d');
          context.fillStyle = '#ff0000';
          context.fillRect(0, 0, offscreen.width, offscreen.height);
          const image = offscreen.transferToImageBitmap();
          return ctx.transfer(image, [image]);
        },
        canvas,
        { transfer: [canvas] },
      );
      return {
        sentLength: buffer.byteLength,
        back: [...new Uint8Array(back)],
        bitmapSent: bitmap.width,
        size,
        drawn: drawn instanceof ImageBitmap ? [drawn.width, drawn.height] : String(drawn),
      };
    }),

  settle: () =>
    withPool({ size: 2 }, (pool) =>
      outcome(
        range(1, 4).pipe(
          offloadToThread(
            (x) => {
              if (x % 2 === 0) throw new Error(`even ${x}`);
              return x;
            },
            { pool, settle: true },
          ),
          map((entry) => ({ ...entry, reason: entry.reason && described(entry.reason) })),
        ),
      ),
    ),

  timeout: () =>
    withPool({ size: 2 }, (pool) =>
      outcome(
        of(10, 2000, 20).pipe(
          offloadToThread((ms) => new Promise((resolve) => setTimeout(resolve, ms, ms)), {
            pool,
            timeout: 300,
            settle: true,
          }),
          map((entry) => (entry.status === 'fulfilled' ? entry.value : described(entry.reason))),
        ),
      ),
    ),

  signal: () =>
    withPool({ size: 1 }, async (pool) => {
      const controller = new AbortController();
      let first;
      const seen = new Promise((resolve) => {
        first = resolve;
      });
      const result = outcome(
        interval(10).pipe(
          offloadToThread((x) => x, { pool, signal: controller.signal }),
          tap(() => first()),
        ),
      );
      await seen;
      controller.abort(new Error('enough'));
      const { values, error } = await result;
      return { some: values.length > 0, error };
    }),

  streaming: () =>
    withPool({ size: 2 }, async (pool) => ({
      ordered: await outcome(
        of(1, 2, 3).pipe(
          offloadToThread(
            function* (x) {
              for (let i = 0; i < 3; i++) yield x * 10 + i;
            },
            { pool },
          ),
        ),
      ),
      run: await rejection(
        pool.run(function* () {
          yield 1;
        }, 0),
      ),
    })),

  /** Unsubscribing from a streaming task calls its generator's return(): its finally runs in the thread. */
  streamingCancel: () =>
    withPool({ size: 1 }, (pool) =>
      heard(async (messages) => {
        const values = await lastValueFrom(
          of(0).pipe(
            offloadToThread(
              async function* (_, ctx) {
                try {
                  for (let i = 0; ; i++) {
                    yield i;
                    await new Promise((resolve) => setTimeout(resolve, 5));
                  }
                } finally {
                  new BroadcastChannel('rxthreads-spec').postMessage({ finally: true, aborted: ctx.signal.aborted });
                }
              },
              { pool },
            ),
            take(3),
            toArray(),
          ),
        );
        await until(messages, 1);
        return values;
      }),
    ),

  doneAndStats: async () => {
    const pool = new ThreadPool({ size: 2 });
    await lastValueFrom(range(0, 50).pipe(offloadToThread((x) => x, { pool })));
    const stats = pool.stats();
    let called = 0;
    pool.onDone(() => called++);
    const closing = pool.close();
    await pool.done;
    await closing;
    let late = 0;
    pool.onDone(() => late++);
    await sleep(0);
    const closed = await rejection(pool.run((x) => x, 1));
    return { stats, called, late, closed, after: pool.stats().threads };
  },

  loop: async () => {
    const loop = new EventLoopThread({ name: 'io' });
    await loop.ready;
    const interleaved = await lastValueFrom(
      of(60, 10, 30).pipe(
        runOnLoop(loop, (ms) => new Promise((resolve) => setTimeout(resolve, ms, ms)), { ordered: false }),
        toArray(),
      ),
    );
    const submitted = await loop.submit((x) => x * 2, 21);
    const stats = loop.stats();
    await loop.close();
    return { interleaved, submitted, threads: stats.threads, completed: stats.completed };
  },

  loopCancel: async () => {
    const loop = new EventLoopThread({ cancelGraceMs: 100 });
    try {
      const controller = new AbortController();
      const stuck = rejection(loop.submit(() => new Promise(() => {}), 0, { signal: controller.signal }));
      await sleep(50);
      controller.abort();
      const first = await stuck;
      await sleep(200);
      return { first, after: await loop.submit((x) => x + 1, 1), stats: loop.stats() };
    } finally {
      await loop.terminate();
    }
  },

  offloadFrom: () =>
    withPool({ size: 2 }, (pool) => {
      async function* source() {
        for (let i = 0; i < 5; i++) yield i;
      }
      return outcome(offloadFrom(source(), (x) => x * x, { pool }));
    }),

  inThread: () =>
    outcome(range(1, 5).pipe(inThread(moduleTask(new URL('./tasks/stage.js', import.meta.url), 'doubled')), toArray())),

  inThreadUnsubscribe: async () => {
    const values = await lastValueFrom(
      interval(5).pipe(
        inThread(moduleTask(new URL('./tasks/stage.js', import.meta.url), 'doubled')),
        take(3),
        toArray(),
      ),
    );
    return values;
  },

  notSelfContained: () => {
    const outer = 5;
    return withPool({ size: 1 }, (pool) => rejection(pool.run((x) => x + outer, 1)));
  },

  ctxImport: () =>
    withPool({ size: 1 }, (pool) =>
      pool.run(
        async (url, ctx) => (await ctx.import(url)).default(9),
        new URL('./tasks/math.js', import.meta.url).href,
      ),
    ),

  missingModule: () =>
    withPool({ size: 1 }, (pool) => rejection(pool.run(moduleTask(new URL('./tasks/missing.js', import.meta.url)), 1))),

  badPaths: async () => {
    const attempt = (make) => {
      try {
        make();
        return 'made';
      } catch (error) {
        return described(error);
      }
    };
    return {
      relative: attempt(() => moduleTask('./tasks/math.js')),
      rootPath: attempt(() => moduleTask('/plain/tasks/math.js')),
      nodeOption: attempt(() => new ThreadPool({ execArgv: ['--inspect'] })),
      resourceLimits: attempt(() => new ThreadPool({ resourceLimits: { maxOldGenerationSizeMb: 64 } })),
    };
  },

  defaultSize: async () => {
    const pool = new ThreadPool();
    const size = pool.size;
    await pool.close();
    return { size, hardwareConcurrency: navigator.hardwareConcurrency };
  },

  /** Many tiny tasks: batched where threads may hold jobs ahead of time, one at a time per thread where not. */
  tinyTasks: () =>
    withPool({ size: 2 }, async (pool) => {
      const started = performance.now();
      const values = await lastValueFrom(
        range(0, 5000).pipe(
          offloadToThread((x) => x + 1, { pool }),
          toArray(),
        ),
      );
      const ms = performance.now() - started;
      return { count: values.length, inOrder: values.every((v, i) => v === i + 1), ms: Math.round(ms) };
    }),

  inline: () =>
    withPool({ size: 1 }, (pool) =>
      pool.run(
        inlineTask((s) => s.toUpperCase()),
        'abc',
      ),
    ),
};

globalThis.rxthreadsCases = cases;
