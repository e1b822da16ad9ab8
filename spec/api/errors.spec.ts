import { join } from 'node:path';
import { expect } from 'chai';
import { lastValueFrom, type Observable, of } from 'rxjs';
import {
  AbortError,
  ClosedError,
  defaultPool,
  EventLoopThread,
  inThread,
  offloadFrom,
  offloadToThread,
  QueueFullError,
  runOnLoop,
  SerializationError,
  TaskError,
  ThreadPool,
  WorkerCrashedError,
} from 'rxthreads';

describe('errors', () => {
  it('are all Errors with a stable name equal to the class name (AbortError is "AbortError")', () => {
    const made: [Error, string][] = [
      [new TaskError('m', { cause: new Error('c') }), 'TaskError'],
      [new WorkerCrashedError(3), 'WorkerCrashedError'],
      [new SerializationError('m'), 'SerializationError'],
      [new AbortError(), 'AbortError'],
      [new ClosedError('m'), 'ClosedError'],
      [new QueueFullError('m'), 'QueueFullError'],
    ];
    for (const [error, name] of made) {
      expect(error).to.be.instanceOf(Error);
      expect(error.name).to.equal(name);
      expect(error.constructor.name).to.equal(name);
    }
    expect(new WorkerCrashedError(3).exitCode).to.equal(3);
  });
});

describe('defaultPool', () => {
  it('is one shared pool, created on first use, sized like a default ThreadPool', () => {
    const pool = defaultPool();
    expect(pool).to.be.instanceOf(ThreadPool);
    expect(defaultPool()).to.equal(pool);
    expect(pool.size).to.equal(new ThreadPool().size);
  });

  it('is created anew after it has been closed', async () => {
    const old = defaultPool();
    await old.close();
    const fresh = defaultPool();
    expect(fresh).to.not.equal(old);
    expect(await fresh.run((x: number) => x + 1, 1)).to.equal(2);
  });
});

describe('errors that tell what to do', () => {
  let pool: ThreadPool;
  beforeEach(() => {
    pool = new ThreadPool({ size: 1 });
  });
  afterEach(() => pool.terminate());
  const failure = (promise: Promise<unknown>): Promise<Error & { cause: Error }> =>
    promise.then(
      () => expect.fail('expected a rejection'),
      (error: Error & { cause: Error }) => error,
    );

  /** A class instance crosses as a plain object, without its methods. */
  class Rect {
    constructor(readonly w: number) {}
    area(): number {
      return this.w * 2;
    }
  }

  it('explains that class instances arrive without their methods', async () => {
    const error = await failure(pool.run((r: Rect) => r.area(), new Rect(2)));
    expect(error.message).to.match(/r\.area is not a function.*structured clones.*without its\s+methods/);
  });

  it('keeps the thrown error as it was in `cause`: the advice is in the TaskError only', async () => {
    const error = await failure(pool.run((r: Rect) => r.area(), new Rect(2)));
    expect(error.message).to.match(/structured clones/);
    expect(error.cause.name).to.equal('TypeError');
    expect(error.cause.message).to.equal('r.area is not a function');
  });

  it('leaves a ReferenceError from a module that an inline task calls as the module threw it', async () => {
    const path = join(__dirname, '..', 'fixtures', 'reference-error.cjs');
    const error = await failure(
      pool.run((file: string) => (require(file) as { readsUndefined(): unknown }).readsUndefined(), path),
    );
    expect(error).to.be.instanceOf(TaskError);
    expect(error.message).to.equal('notDefinedHere is not defined');
  });

  it("says that `this` in a method is not the method's object", async () => {
    const shape = {
      w: 2,
      area(): number {
        return this.w * 2;
      },
    };
    const error = await failure(pool.run(shape.area, null));
    expect(error.message).to.match(/reads `this\.w`/);
  });

  it('says that `crypto` in a thread is WebCrypto, and that compiler-named imports are imports', async () => {
    const webCrypto = await failure(
      pool.run(() => (crypto as unknown as { createHash(kind: string): unknown }).createHash('sha256'), null),
    );
    expect(webCrypto.message).to.match(/WebCrypto.*await ctx\.import\('node:crypto'\)/);
    for (const name of ['node_crypto_1', 'import_node_crypto']) {
      const task = new Function(`return (x) => ${name}.createHash(x)`)() as (x: string) => unknown;
      const imported = await failure(pool.run(task, 'sha256'));
      expect(imported.message).to.match(new RegExp(`\`${name}\`, which looks like an import.*\`node_crypto\``));
    }
  });

  it('says which part of a value could not be cloned, and what can cross', async () => {
    const input = await failure(pool.run((x: unknown) => x, { ok: 1, deep: [{ onDone: () => 1 }] }));
    expect(input).to.be.instanceOf(SerializationError);
    expect(input.message).to.match(/`input\.deep\[0\]\.onDone` is a function.*structured clones/);
    const result = await failure(pool.run(() => ({ id: Symbol('id') }), null));
    expect(result).to.be.instanceOf(SerializationError);
    expect(result.message).to.match(/`result\.id` is a symbol/);
  });

  it('rejects unknown option keys with a did-you-mean, for every options object', () => {
    const unknown = (make: () => unknown, pattern: RegExp) => expect(make).to.throw(TypeError, pattern);
    unknown(() => new ThreadPool({ sise: 2 } as object), /Unknown option `sise` of ThreadPool\. Did you mean `size`\?/);
    unknown(() => new EventLoopThread({ nmae: 'x' } as object), /`nmae` of EventLoopThread\. Did you mean `name`\?/);
    unknown(
      () => pool.run((x: number) => x, 1, { signl: undefined } as object),
      /`signl` of run\/submit\. Did you mean `signal`\?/,
    );
    unknown(() => offloadToThread((x: number) => x, { concurency: 2 } as object), /Did you mean `concurrency`\?/);
    unknown(() => offloadFrom([1], (x: number) => x, { highWatermark: 2 } as object), /Did you mean `highWaterMark`\?/);
    unknown(() => inThread((x: Observable<number>) => x, { bufferSise: 2 } as object), /`bufferSise` of inThread/);
    unknown(
      () => offloadToThread((x: number) => x, { zzz: 1 } as object),
      /^Unknown option `zzz` of offloadToThread\. Its options are `pool`/,
    );
  });

  it('runOnLoop rejects unknown option keys too', async () => {
    const loop = new EventLoopThread();
    try {
      expect(() => runOnLoop(loop, (x: number) => x, { orderd: true } as object)).to.throw(
        TypeError,
        /Did you mean `ordered`\?/,
      );
    } finally {
      await loop.close();
    }
  });

  it("carries the caller's frame in a TaskError's stack, for run() and for each stream operator", async () => {
    // A run that is awaited: V8's async stack trace gives the awaiting frames.
    let fromRun: Error | undefined;
    try {
      await pool.run(() => {
        throw new Error('no');
      }, null);
    } catch (error) {
      fromRun = error as Error;
    }
    expect(fromRun?.stack).to.match(/--- rxthreads: called from ---\n.*errors\.spec\.ts/);
    const fromStream = await failure(
      lastValueFrom(
        of(1).pipe(
          offloadToThread(
            () => {
              throw new Error('no');
            },
            { pool },
          ),
        ),
      ),
    );
    expect(fromStream.stack).to.match(/--- rxthreads: called from ---\n.*errors\.spec\.ts/);
    const throws = () => {
      throw new Error('no');
    };
    const fromIterable = await failure(lastValueFrom(offloadFrom([1], throws, { pool })));
    expect(fromIterable.stack).to.match(/--- rxthreads: called from ---\n.*errors\.spec\.ts/);
    const loop = new EventLoopThread();
    try {
      const fromLoop = await failure(lastValueFrom(of(1).pipe(runOnLoop(loop, throws))));
      expect(fromLoop.stack).to.match(/--- rxthreads: called from ---\n.*errors\.spec\.ts/);
    } finally {
      await loop.close();
    }
  });
});
