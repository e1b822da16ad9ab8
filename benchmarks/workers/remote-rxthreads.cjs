'use strict';
// A worker process of the remote benchmark: serves `inc` of work.cjs to RemotePool callers.
const { moduleTask } = require('rxthreads');
const { serveTasks } = require('rxthreads/remote');

const [connection, queue, threads] = process.argv.slice(2);
const server = serveTasks({
  queue,
  connection,
  threads: Number(threads),
  tasks: { inc: moduleTask(require.resolve('./rxthreads.cjs'), 'inc') },
});
server.ready.then(() => console.log('ready'));
process.once('SIGTERM', () => void server.close());
