'use strict';
// A plain BullMQ worker for the remote benchmark: `inc` of work.cjs in the processor itself.
const { Worker } = require('bullmq');
const { inc } = require('./work.cjs');

const [url, queue, concurrency] = process.argv.slice(2);
const worker = new Worker(queue, async (job) => inc(job.data), {
  connection: { url, maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
});
worker.waitUntilReady().then(() => console.log('ready'));
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
