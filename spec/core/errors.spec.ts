import { expect } from 'chai';
import {
  AbortError,
  ClosedError,
  defaultPool,
  QueueFullError,
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
