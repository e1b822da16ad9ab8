import { SHARE_ENV } from 'node:worker_threads';
import { expect } from 'chai';
import { lastValueFrom, range } from 'rxjs';
import { map, toArray } from 'rxjs/operators';
import { EventLoopThread, offloadToThread, runOnLoop, ThreadPool, WorkerCrashedError } from 'rxthreads';
import { fixture, osThreads } from '../helpers';

/** What a thread sees of its start: env, argv and flags. */
const probe = (name: string) => ({
  env: process.env[name],
  argv: process.argv.slice(2),
  execArgv: process.execArgv,
  preloaded: (globalThis as { rxthreadsPreloaded?: string }).rxthreadsPreloaded,
});

describe('worker options: env, execArgv, argv', () => {
  const owners: { terminate(): Promise<void> }[] = [];
  afterEach(() => Promise.all(owners.splice(0).map((owner) => owner.terminate())));
  const pool = (options: ConstructorParameters<typeof ThreadPool>[0]) => {
    const made = new ThreadPool(options);
    owners.push(made);
    return made;
  };
  const loopThread = (options: ConstructorParameters<typeof EventLoopThread>[0]) => {
    const made = new EventLoopThread(options);
    owners.push(made);
    return made;
  };

  it('gives each pool thread the env, argv and execArgv it was given', async () => {
    const preload = fixture('preload.cjs');
    const threads = pool({
      size: 2,
      env: { RXTHREADS_PROBE: 'from-env' },
      argv: ['--mode', 'fast'],
      execArgv: ['--require', preload],
    });
    const seen = await lastValueFrom(
      range(0, 4).pipe(
        map(() => 'RXTHREADS_PROBE'),
        offloadToThread(probe, { pool: threads }),
        toArray(),
      ),
    );
    for (const one of seen) {
      expect(one).to.deep.equal({
        env: 'from-env',
        argv: ['--mode', 'fast'],
        execArgv: ['--require', preload],
        preloaded: 'preloaded',
      });
    }
    expect(process.env.RXTHREADS_PROBE).to.equal(undefined);
  });

  it('gives an EventLoopThread the same options', async () => {
    const loop = loopThread({ env: { RXTHREADS_PROBE: 'loop' }, argv: ['x'], execArgv: [] });
    expect(await loop.submit(probe, 'RXTHREADS_PROBE')).to.deep.equal({
      env: 'loop',
      argv: ['x'],
      execArgv: [],
      preloaded: undefined,
    });
    const viaOperator = await lastValueFrom(range(0, 1).pipe(runOnLoop(loop, () => process.env.RXTHREADS_PROBE)));
    expect(viaOperator).to.equal('loop');
  });

  it('shares the caller environment with SHARE_ENV', async () => {
    const threads = pool({ size: 1, env: SHARE_ENV });
    await threads.run(() => {
      process.env.RXTHREADS_SHARED = 'set in a thread';
    }, null);
    try {
      expect(process.env.RXTHREADS_SHARED).to.equal('set in a thread');
    } finally {
      delete process.env.RXTHREADS_SHARED;
    }
  });

  it("copies the options: changing the caller's arrays later changes nothing", async () => {
    const argv = ['a'];
    const threads = pool({ size: 1, argv });
    argv.push('b');
    expect(await threads.run(() => process.argv.slice(2), null)).to.deep.equal(['a']);
  });

  it('fails the waiting tasks with WorkerCrashedError when an execArgv preload kills every thread', async () => {
    const threads = pool({ size: 1, execArgv: ['--require', fixture('preload-throws-in-thread.cjs')] });
    const error = await threads.run((x: number) => x, 1).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkerCrashedError);
  });

  it('validates them, echoing the value', () => {
    expect(() => new ThreadPool({ env: 'FOO=1' as never })).to.throw(
      TypeError,
      'Expected `env` to be an object, got `FOO=1` (string)',
    );
    expect(() => new ThreadPool({ env: ['FOO=1'] as never })).to.throw(
      TypeError,
      'Expected `env` to be an object of strings, or SHARE_ENV, got `["FOO=1"]` (array)',
    );
    expect(() => new ThreadPool({ env: { FOO: 1 as never } })).to.throw(
      TypeError,
      'Expected `env.FOO` to be a string, got `1` (number)',
    );
    expect(() => new ThreadPool({ execArgv: '--inspect' as never })).to.throw(
      TypeError,
      'Expected `execArgv` to be an array of strings, got `--inspect` (string)',
    );
    expect(() => new EventLoopThread({ argv: [1] as never })).to.throw(
      TypeError,
      'Expected `argv` to be an array of strings, got `[1]` (string)',
    );
  });

  it('refuses at construction the execArgv flags Node refuses in a thread, naming the option, the flags and the fix', () => {
    for (const Owner of [ThreadPool, EventLoopThread]) {
      expect(() => new Owner({ execArgv: ['--bogus-flag'] }))
        .to.throw(TypeError, 'Expected `execArgv` to be flags Node accepts in a worker thread, got `--bogus-flag`')
        .with.property('cause')
        .that.has.property('code', 'ERR_WORKER_INVALID_EXEC_ARGV');
      expect(() => new Owner({ execArgv: ['--enable-source-maps', '--max-old-space-size=64'] })).to.throw(
        TypeError,
        /got `--max-old-space-size=64`.*resourceLimits/,
      );
    }
  });

  it('accepts at construction the flags a thread takes, without starting a thread or running a preload', async () => {
    const before = osThreads();
    const threads = pool({ size: 1, execArgv: ['--enable-source-maps', '--require', fixture('preload.cjs')] });
    expect(osThreads()).to.equal(before);
    expect(await threads.run(probe, 'X')).to.have.property('preloaded', 'preloaded');
  });
});
