import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
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

  it('validates RemotePool options, echoing the value', () => {
    const connection = 'redis://127.0.0.1:6379';
    expect(() => new RemotePool(undefined as never)).to.throw(TypeError, /`options`/);
    expect(() => new RemotePool({ queue: '', connection })).to.throw(TypeError, /`queue`.*got `` \(string\)/);
    expect(() => new RemotePool({ queue: 'a:b', connection })).to.throw(TypeError, /`queue`/);
    expect(() => new RemotePool({ queue: 'q', connection: 'http://x' })).to.throw(
      TypeError,
      /`connection` to be a redis:\/\/ URL.*got `http:\/\/x` \(string\)/,
    );
    expect(() => new RemotePool({ queue: 'q', connection, size: 0 })).to.throw(TypeError, /`size`.*`0` \(number\)/);
    expect(() => new RemotePool({ queue: 'q', connection, attempts: 1.5 })).to.throw(TypeError, /`attempts`/);
    expect(() => new RemotePool({ queue: 'q', connection, batchSize: -1 })).to.throw(TypeError, /`batchSize`/);
    expect(() => new RemotePool({ queue: 'q', connection, connectTimeout: 0 })).to.throw(TypeError, /`connectTimeout`/);
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
    expect(() => serveTasks({ queue: 'q', connection: 7 as never, tasks: {} })).to.throw(TypeError, /`connection`/);
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
