import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { TaskLike } from '../../task/task';
import { ClosedError } from '../../util/errors';
import { describeConnection } from '../connection';
import { serveTasks, type TaskServer } from './serve';

const usage = `Usage: rxthreads-worker --queue NAME --redis URL --tasks FILE [--threads N] [--concurrency N]
                        [--grace MS] [--lock-duration MS] [--connect-timeout MS] [--prefix PREFIX]

Serves the tasks that FILE exports (an object of name: moduleTask(...) or self-contained function)
to RemotePool callers on the BullMQ queue NAME. On SIGINT or SIGTERM it takes no more jobs, lets the
running ones finish for up to --grace ms (default 10000), then puts the rest back in the queue for
another worker, and exits 0. If Redis cannot be reached within --connect-timeout ms (default 5000)
when it starts, it says so and exits 1; a bad argument or a tasks file that does not load exits 2.`;

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new TypeError(`Expected --${name} to be a positive integer, got \`${value}\``);
  return n;
}

/** Loads the tasks module: CommonJS or ES module, its default export or its named exports. */
async function loadTasks(file: string): Promise<Record<string, TaskLike<never, unknown>>> {
  const loaded = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  const tasks = (loaded.default ?? loaded) as Record<string, TaskLike<never, unknown>>;
  if (typeof tasks !== 'object' || tasks === null) throw new TypeError(`${file} exports no tasks object`);
  return tasks;
}

/** `rxthreads-worker`: runs a task server until SIGINT or SIGTERM. */
export async function main(argv: string[]): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        queue: { type: 'string' },
        redis: { type: 'string' },
        tasks: { type: 'string' },
        threads: { type: 'string' },
        concurrency: { type: 'string' },
        grace: { type: 'string' },
        'lock-duration': { type: 'string' },
        'connect-timeout': { type: 'string' },
        prefix: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    if (values.help) {
      console.log(usage);
      return;
    }
    if (values.queue === undefined || values.redis === undefined || values.tasks === undefined) {
      throw new TypeError('--queue, --redis and --tasks are required');
    }
  } catch (error) {
    console.error(`rxthreads-worker: ${(error as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  let graceMs: number;
  let server: TaskServer;
  try {
    graceMs = int('grace', values.grace as string | undefined) ?? 10_000;
    server = serveTasks({
      queue: values.queue as string,
      connection: values.redis as string,
      tasks: await loadTasks(values.tasks as string),
      threads: int('threads', values.threads as string | undefined),
      concurrency: int('concurrency', values.concurrency as string | undefined),
      lockDuration: int('lock-duration', values['lock-duration'] as string | undefined),
      connectTimeout: int('connect-timeout', values['connect-timeout'] as string | undefined),
      prefix: values.prefix as string | undefined,
    });
  } catch (error) {
    // A bad value or a tasks file that does not load: restarting would fail the same way, so this
    // is a usage error (2), not the exit 1 that tells a supervisor Redis could not be reached.
    console.error(`rxthreads-worker: ${(error as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const where = describeConnection(values.redis as string);
  const stop = (signal: string): void => {
    console.error(`rxthreads-worker: ${signal}: finishing the running jobs (up to ${graceMs} ms)`);
    const timer = setTimeout(() => void server.terminate(), graceMs);
    timer.unref();
    void server.close().then(() => {
      clearTimeout(timer);
      process.exitCode = 0;
      // Whatever a task module left open must not keep a stopped worker alive.
      setTimeout(() => process.exit(0), 1_000).unref();
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  const waiting = setTimeout(() => console.error(`rxthreads-worker: waiting for Redis at ${where}...`), 2_000);
  try {
    await server.ready;
  } catch (error) {
    // Redis was not reached in time (the server closes itself), or a signal closed it first.
    if (!(error instanceof ClosedError)) {
      console.error(`rxthreads-worker: ${(error as Error).message}`);
      process.exitCode = 1;
    }
    await server.done;
    return;
  } finally {
    clearTimeout(waiting);
  }
  console.error(`rxthreads-worker: serving queue '${values.queue}' on ${where} (pid ${process.pid})`);
}
