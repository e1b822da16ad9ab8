const { ThreadPool, moduleTask, offloadToThread, TaskError } = require('rxthreads');
const { AbortError } = require('rxthreads/worker');
const { lastValueFrom, range, toArray } = require('rxjs');
(async () => {
  const pool = new ThreadPool({ size: 1 });
  const nine = await pool.run(moduleTask(require.resolve('./task.cjs')), 3);
  const squares = await lastValueFrom(
    range(1, 3).pipe(
      offloadToThread((x) => x * x, { pool }),
      toArray(),
    ),
  );
  const error = await pool
    .run(() => {
      throw new RangeError('no');
    }, 0)
    .catch((e) => e instanceof TaskError && e.cause.name);
  await pool.close();
  console.log(JSON.stringify({ nine, squares, error, abort: new AbortError().name }));
})();
