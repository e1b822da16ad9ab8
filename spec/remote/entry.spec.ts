import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ClosedError } from 'rxthreads';
import { RemotePool, remoteTask, serveTasks } from 'rxthreads/remote';

const run = promisify(execFile);

describe('rxthreads/remote entry', () => {
  it('is not loaded by rxthreads: neither bullmq nor ioredis is required', async () => {
    const script = `require('rxthreads');
const loaded = Object.keys(require.cache).filter((path) => /node_modules\\/(bullmq|ioredis)\\//.test(path));
console.log(JSON.stringify(loaded));`;
    const { stdout } = await run(process.execPath, ['-e', script]);
    expect(JSON.parse(stdout)).to.deep.equal([]);
  });

  it('closes at once, and lets the process exit, while Redis is unreachable', async () => {
    const script = `const { of } = require('rxjs');
const { offloadToThread } = require('rxthreads');
const { RemotePool, remoteTask, serveTasks } = require('rxthreads/remote');
const connection = 'redis://127.0.0.1:1';
const server = serveTasks({ queue: 'q', connection, threads: 1, tasks: { a: (x) => x } });
const remote = new RemotePool({ queue: 'q', connection });
const subscription = of(1).pipe(offloadToThread(remoteTask('a'), { pool: remote })).subscribe();
setTimeout(async () => {
  subscription.unsubscribe();
  const started = Date.now();
  await Promise.all([remote.close(), server.close()]);
  const closed = Date.now();
  process.on('exit', () => console.log(JSON.stringify({ close: closed - started, exit: Date.now() - closed })));
}, 200);`;
    const { stdout } = await run(process.execPath, ['-e', script], { timeout: 10_000 });
    const { close, exit } = JSON.parse(stdout) as { close: number; exit: number };
    expect(close, 'ms to close').to.be.below(1_000);
    expect(exit, 'ms from closed to exited').to.be.below(1_000);
  });

  it('rejects serveTasks(...).ready after connectTimeout when Redis is unreachable, naming where and how long, and cleans up', async () => {
    // One server's ready is awaited; the other's is never looked at, and must not be an unhandled
    // rejection. Both must close their connections and threads by themselves, so the process exits.
    const script = `const { serveTasks } = require('rxthreads/remote');
const connection = 'redis://127.0.0.1:1';
const options = { queue: 'q', connection, threads: 1, tasks: { a: (x) => x }, connectTimeout: 300 };
const started = Date.now();
const awaited = serveTasks(options);
const ignored = serveTasks(options);
awaited.ready.then(
  () => console.log(JSON.stringify({ ready: 'resolved' })),
  (error) => console.log(JSON.stringify({ ready: error.name + ': ' + error.message, after: Date.now() - started })),
);
Promise.all([awaited.done, ignored.done]).then(() => {
  const done = Date.now();
  process.on('exit', () => console.log(JSON.stringify({ done: done - started, exit: Date.now() - done })));
});`;
    const { stdout } = await run(process.execPath, ['-e', script], { timeout: 10_000 });
    const [first, second] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(first.ready).to.match(
      /^RemoteConnectionError: Could not connect to Redis at redis:\/\/127\.0\.0\.1:1 within 300 ms \(.*ECONNREFUSED.*\)$/,
    );
    expect(first.after, 'ms to reject ready').to.be.within(300, 2_000);
    expect(second.done, 'ms to done').to.be.below(3_000);
    expect(second.exit, 'ms from done to exited').to.be.below(1_000);
  });

  it('rejects ready with ClosedError for a task server closed before it connected', async () => {
    const server = serveTasks({
      queue: 'q',
      connection: 'redis://127.0.0.1:1',
      threads: 1,
      tasks: { a: (x: number) => x },
    });
    const ready = server.ready.catch((e: unknown) => e);
    await server.close();
    expect(await ready).to.be.instanceOf(ClosedError);
  });

  it('rxthreads-worker exits 1 with a one-line error when Redis is unreachable within --connect-timeout', async () => {
    const bin = join(__dirname, '..', '..', 'dist', 'bin', 'rxthreads-worker.js');
    const tasks = join(__dirname, 'fixtures', 'tasks-map.cjs');
    const args = ['--queue', 'q', '--redis', 'redis://127.0.0.1:1', '--tasks', tasks, '--connect-timeout', '300'];
    const failed = await run(process.execPath, [bin, ...args], { timeout: 10_000 }).catch((e: unknown) => e);
    expect(failed).to.have.property('code', 1);
    expect((failed as { stderr: string }).stderr.trim()).to.match(
      /^rxthreads-worker: Could not connect to Redis at redis:\/\/127\.0\.0\.1:1 within 300 ms \(.*\)$/,
    );
  });

  it('rxthreads-worker exits 2 with a one-line error for a bad value or a tasks file that does not load', async () => {
    const bin = join(__dirname, '..', '..', 'dist', 'bin', 'rxthreads-worker.js');
    const tasks = join(__dirname, 'fixtures', 'tasks-map.cjs');
    const cases = [
      ['--tasks', tasks, '--threads', '0'],
      ['--tasks', tasks, '--lock-duration', `${2 ** 31}`],
      ['--tasks', join(__dirname, 'fixtures', 'no-such-file.cjs')],
    ];
    for (const extra of cases) {
      const args = ['--queue', 'q', '--redis', 'redis://127.0.0.1:1', ...extra];
      const failed = await run(process.execPath, [bin, ...args], { timeout: 10_000 }).catch((e: unknown) => e);
      expect(failed, extra.join(' ')).to.have.property('code', 2);
      expect((failed as { stderr: string }).stderr.trim().split('\n')).to.have.length(1);
    }
  });

  it('validates RemotePool options, echoing the value', () => {
    const connection = 'redis://127.0.0.1:6379';
    expect(() => new RemotePool(undefined as never)).to.throw(TypeError, /`options`/);
    expect(() => new RemotePool({ queue: '', connection })).to.throw(TypeError, /`queue`.*got `` \(string\)/);
    expect(() => new RemotePool({ queue: 'a:b', connection })).to.throw(TypeError, /`queue`/);
    expect(() => new RemotePool({ queue: 'q', connection: 'http://x' })).to.throw(
      TypeError,
      /`connection` to be a redis:\/\/ URL.*got `http:\/\/x` \(string\)/,
    );
    // What ioredis would read only once it connects, and throw where nothing can catch it.
    for (const bad of [
      'redis://127.0.0.1:notaport',
      'redis://127.0.0.1:99999',
      'redis://[::1',
      'redis://:p%zz@127.0.0.1:6379',
    ]) {
      expect(() => new RemotePool({ queue: 'q', connection: bad })).to.throw(
        TypeError,
        /`connection` to be a valid redis:\/\/ URL/,
      );
    }
    expect(() => new RemotePool({ queue: 'q', connection: 'redis://:pa#ss@127.0.0.1:6379' })).to.throw(
      TypeError,
      /percent-encoded\), got `redis:\/\/:\*\*\*@127\.0\.0\.1:6379` \(string\)/,
    );
    expect(() => new RemotePool({ queue: 'q', connection: 'redis://127.0.0.1:6379/abc' })).to.throw(
      TypeError,
      /whose path is a database number/,
    );
    expect(() => new RemotePool({ queue: 'q', connection: { db: 'x' } as never })).to.throw(
      TypeError,
      /`connection\.db`/,
    );
    expect(() => new RemotePool({ queue: 'q', connection, size: 0 })).to.throw(TypeError, /`size`.*`0` \(number\)/);
    expect(() => new RemotePool({ queue: 'q', connection, attempts: 1.5 })).to.throw(TypeError, /`attempts`/);
    expect(() => new RemotePool({ queue: 'q', connection, batchSize: -1 })).to.throw(TypeError, /`batchSize`/);
    expect(() => new RemotePool({ queue: 'q', connection, connectTimeout: 0 })).to.throw(TypeError, /`connectTimeout`/);
    expect(() => new RemotePool({ queue: 'q', connection, closeGraceMs: -1 })).to.throw(
      TypeError,
      'Expected `closeGraceMs` to be a number of ms >= 0 and <= 2147483647, got `-1` (number)',
    );
    expect(() => new RemotePool({ queue: 'q', connection, closeGraceMs: Number.NaN })).to.throw(TypeError, /`NaN`/);
    // Beyond a timer's limit Node would fire the timer at once: refused rather than cut short.
    expect(() => new RemotePool({ queue: 'q', connection, closeGraceMs: 2 ** 31 })).to.throw(TypeError, /`2147483648`/);
    expect(() => new RemotePool({ queue: 'q', connection, connectTimeout: 2 ** 31 })).to.throw(
      TypeError,
      /`connectTimeout`.*`2147483648`/,
    );
    expect(() => new RemotePool({ queue: 'q', connection, batchsize: 2 } as never)).to.throw(
      TypeError,
      /Unknown option `batchsize` of RemotePool. Did you mean `batchSize`\?/,
    );
  });

  it('validates serveTasks options before it connects', () => {
    const connection = 'redis://127.0.0.1:6379';
    expect(() => serveTasks({ queue: 'q', connection, tasks: null as never })).to.throw(TypeError, /`tasks`/);
    expect(() => serveTasks({ queue: 'q', connection, tasks: { x: 1 as never } })).to.throw(TypeError, /`task`/);
    expect(() => serveTasks({ queue: 'q', connection, tasks: {}, threads: 0 })).to.throw(TypeError, /`threads`/);
    expect(() => serveTasks({ queue: 'q', connection, tasks: {}, threads: 5000 })).to.throw(
      TypeError,
      'Expected `threads` to be an integer from 1 to 1024, got `5000` (number)',
    );
    // BullMQ's timers: beyond a timer's limit Node fires them at once (a stall check every 1 ms).
    for (const option of ['lockDuration', 'stalledInterval']) {
      expect(() => serveTasks({ queue: 'q', connection, tasks: {}, [option]: 2 ** 31 })).to.throw(
        TypeError,
        new RegExp(`\`${option}\` to be an integer number of ms from 1 to 2147483647, got \`2147483648\``),
      );
    }
    expect(() => serveTasks({ queue: 'q', connection: 'redis://127.0.0.1:6379/abc', tasks: {} })).to.throw(
      TypeError,
      /`connection`/,
    );
    expect(() => serveTasks({ queue: 'q', connection: 7 as never, tasks: {} })).to.throw(TypeError, /`connection`/);
    expect(() => serveTasks({ queue: 'q', connection, tasks: {}, connectTimeout: 0 })).to.throw(
      TypeError,
      /`connectTimeout` to be a number of ms > 0 and <= 2147483647, got `0` \(number\)/,
    );
    expect(() => serveTasks({ queue: 'q', connection, tasks: {}, closeGraceMs: -1 })).to.throw(
      TypeError,
      /`closeGraceMs` to be a number of ms >= 0 and <= 2147483647, got `-1` \(number\)/,
    );
    expect(() => serveTasks({ queue: 'q', connection, tasks: {}, thread: 2 } as never)).to.throw(
      TypeError,
      /Unknown option `thread` of serveTasks/,
    );
  });

  it('names remote tasks with a non-empty string', () => {
    expect(() => remoteTask(3 as never)).to.throw(TypeError, /`name`.*`3` \(number\)/);
    expect(remoteTask('a')).to.equal(remoteTask('a'));
  });
});
