import { expect } from 'chai';
import { lastValueFrom, range } from 'rxjs';
import { map, toArray } from 'rxjs/operators';
import {
  AbortError,
  moduleTask,
  offloadToThread,
  SerializationError,
  TaskError,
  ThreadPool,
  WorkerCrashedError,
} from 'rxthreads';
import { fixture, record, scale } from '../helpers';

const tasks = fixture('tasks.cjs');
type Fault = {
  name: string;
  task: string;
  input: unknown;
  error: new (...args: never[]) => Error;
  cancelAfterMs?: number;
};

const faults: Fault[] = [
  { name: 'process.exit in a task', task: 'exit', input: 4, error: WorkerCrashedError },
  { name: 'an uncaught error thrown later from a timer', task: 'throwLater', input: null, error: WorkerCrashedError },
  { name: 'an unhandled rejection in the thread', task: 'rejectUnhandled', input: null, error: WorkerCrashedError },
  { name: 'out of memory under resourceLimits', task: 'hog', input: null, error: WorkerCrashedError },
  {
    name: 'an infinite loop, cancelled',
    task: 'spinForever',
    input: { sab: new SharedArrayBuffer(16) },
    error: AbortError,
    cancelAfterMs: 30,
  },
  { name: 'a task that never settles, cancelled', task: 'never', input: null, error: AbortError, cancelAfterMs: 30 },
  { name: 'a throwing task', task: 'fail', input: 1, error: TaskError },
  { name: 'an unclonable result', task: 'unclonable', input: null, error: SerializationError },
];

describe('faults', function () {
  this.timeout(30_000);
  let pool: ThreadPool;
  beforeEach(() => {
    pool = new ThreadPool({ size: 2, cancelGraceMs: 50, resourceLimits: { maxOldGenerationSizeMb: 32 } });
  });
  afterEach(() => pool.terminate());

  const repeats = scale(1, 20);
  for (const fault of faults) {
    it(`survives ${fault.name}: only that task fails, with ${fault.error.name}, and the pool heals`, async () => {
      for (let round = 0; round < repeats; round++) {
        const healthy = Array.from({ length: 40 }, (_, i) => pool.run((x: number) => x * 2, i));
        const signal = fault.cancelAfterMs === undefined ? undefined : AbortSignal.timeout(fault.cancelAfterMs);
        const failed = await pool.run(moduleTask(tasks, fault.task), fault.input, { signal }).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(failed).to.be.instanceOf(fault.error);
        expect(await Promise.all(healthy)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i * 2));
        // Healed: a full set of threads, and both take work again.
        const out = await lastValueFrom(
          range(0, 200).pipe(
            offloadToThread((x: number) => x + 1, { pool }),
            toArray(),
          ),
        );
        expect(out).to.have.length(200);
        expect(pool.stats().threads).to.equal(2);
      }
      record(`fault survived: ${fault.name} (times)`, repeats);
    });
  }

  it('crosses undefined, null, NaN, big values and nested structures intact; refuses symbols', async () => {
    const echo = moduleTask<unknown, { type: string; value: unknown }>(tasks, 'echoType');
    const values = [undefined, null, Number.NaN, -0, 2n ** 70n, new Map([[1, { a: [new Date(0)] }]]), new Set(['x'])];
    for (const value of values) expect((await pool.run(echo, value)).value).to.deep.equal(value);
    const error = await pool.run(echo, Symbol('s')).catch((e: Error) => e);
    expect(error).to.be.instanceOf(SerializationError);
  });

  it('moves a huge (64 MiB) input and gets its result', async () => {
    const big = new Uint8Array(64 * 1024 * 1024).fill(3);
    const sum = await pool.run((bytes: Uint8Array) => bytes.reduce((a, b) => a + b, 0), big, {
      transfer: [big.buffer],
    });
    expect(sum).to.equal(3 * 64 * 1024 * 1024);
  });

  it('fails a stream with WorkerCrashedError when a value kills its thread, and the pool serves the next stream', async () => {
    const error = await lastValueFrom(
      range(0, 10).pipe(
        map((i) => (i === 5 ? 9 : -1)),
        offloadToThread(
          (code: number) => {
            if (code > 0) process.exit(code);
            return code;
          },
          { pool },
        ),
      ),
    ).catch((e: Error) => e);
    expect(error).to.be.instanceOf(WorkerCrashedError);
    expect((error as WorkerCrashedError).exitCode).to.equal(9);
    expect(
      await lastValueFrom(
        range(0, 5).pipe(
          offloadToThread((x: number) => x, { pool }),
          toArray(),
        ),
      ),
    ).to.deep.equal([0, 1, 2, 3, 4]);
  });
});
