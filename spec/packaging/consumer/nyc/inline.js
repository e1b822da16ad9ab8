// Run under nyc: istanbul instruments this file, inline task included.
const { ThreadPool } = require('rxthreads');

const pool = new ThreadPool({ size: 1 });
pool
  .run((x) => x + 1, 1)
  .then(
    (value) => console.log(JSON.stringify({ value })),
    (error) => console.log(JSON.stringify({ error: error.message })),
  )
  .finally(() => pool.close());
