import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  combineLatest,
  concat,
  config,
  EMPTY,
  from,
  interval,
  lastValueFrom,
  NEVER,
  Observable,
  of,
  range,
  Subject,
  throwError,
} from 'rxjs';
import { concatWith, ignoreElements, map, take, tap, toArray } from 'rxjs/operators';
import {
  inThread,
  moduleTask,
  QueueFullError,
  SerializationError,
  type Task,
  TaskError,
  WorkerCrashedError,
} from 'rxthreads';
import {
  fixture,
  grace,
  osThreadAlive,
  osThreads,
  osThreadsDownTo,
  SharedCounters,
  valuesWhileOpen,
} from '../../helpers';

const ops = fixture('stage-ops.cjs');
const stage = <I, O>(name: string): Task<Observable<I>, Observable<O>> => moduleTask(ops, name);

/** The error a stream ends with (or a failed test if it completes). */
function errorOf(output$: Observable<unknown>): Promise<Error> {
  return lastValueFrom(output$).then(
    () => Promise.reject(new Error('expected the stream to error, it completed')),
    (error: Error) => error,
  );
}

/** A synchronous source that never ends by itself; `produced` counts what it emitted. */
function endless(produced: { count: number }): Observable<number> {
  return new Observable<number>((subscriber) => {
    for (let i = 0; !subscriber.closed; i++) {
      produced.count++;
      subscriber.next(i);
    }
  });
}

/** The stage's flags go first on input$ (see `withFlags` in the fixture), then the source's values. */
function withFlags<T>(flags: SharedCounters, source$: Observable<T>): Observable<T> {
  return concat(of(flags.buffer as unknown as T), source$);
}

/** Resolves once the stage has echoed its first value: it has started in its thread. */
function stageStarted(): { promise: Promise<void>; saw: () => void } {
  let saw!: () => void;
  const promise = new Promise<void>((resolve) => {
    saw = resolve;
  });
  return { promise, saw };
}

/**
 * One value, then (once the stage has started) `count - 1` more, synchronously; flags[0] counts
 * what the source produced, on the caller's side.
 */
function afterStart(started: { promise: Promise<void> }, count: number, flags: SharedCounters): Observable<number> {
  return concat(of(0), from(started.promise).pipe(ignoreElements()), range(1, count - 1)).pipe(
    tap(() => Atomics.add(flags.view, 0, 1)),
  );
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('inThread', () => {
  describe('values and completion', () => {
    it('completes an empty source with whatever the stage emits for it', async () => {
      expect(await lastValueFrom(EMPTY.pipe(inThread(stage<number, number>('double')), toArray()))).to.deep.equal([]);
      expect(await lastValueFrom(EMPTY.pipe(inThread(stage<number, number[]>('distinctSorted'))))).to.deep.equal([]);
    });

    it('maps one value', async () => {
      expect(await lastValueFrom(range(21, 1).pipe(inThread(stage<number, number>('double'))))).to.equal(42);
    });

    it('streams many values through, in order, both ways', async () => {
      const out = await lastValueFrom(range(0, 10_000).pipe(inThread(stage<number, number>('double')), toArray()));
      expect(out).to.deep.equal(Array.from({ length: 10_000 }, (_, i) => i * 2));
    });

    it('sends values in batches both ways when they come faster than one message each', async () => {
      const flags = new SharedCounters();
      let outputTurns = 0;
      let inTurn = false;
      const out = await lastValueFrom(
        withFlags(flags, range(0, 10_000)).pipe(
          inThread(stage<number, number>('countInputTurns')),
          tap(() => {
            // The values of one message are emitted in one synchronous run.
            if (inTurn) return;
            inTurn = true;
            outputTurns++;
            queueMicrotask(() => {
              inTurn = false;
            });
          }),
          toArray(),
        ),
      );
      expect(out).to.have.length(10_000);
      // At most 256 values a message: 40 messages would do; one per value would be 10,000.
      expect(flags.get(0)).to.be.within(1, 100);
      expect(outputTurns).to.be.within(1, 100);
    });

    it('keeps stateful operators working: the stage lives in one thread for the whole subscription', async () => {
      expect(
        await lastValueFrom(range(1, 5).pipe(inThread(stage<number, number>('runningTotal')), toArray())),
      ).to.deep.equal([1, 3, 6, 10, 15]);
      const values = [5, 3, 5, 1, 3, 9, 1];
      const source$ = range(0, values.length).pipe(map((i) => values[i]!));
      expect(await lastValueFrom(source$.pipe(inThread(stage<number, number[]>('distinctSorted'))))).to.deep.equal([
        1, 3, 5, 9,
      ]);
    });

    it('completes only after the thread has exited (the done future)', async () => {
      const tids = new Set<number>();
      let aliveAtComplete: boolean | undefined;
      await new Promise<void>((resolve, reject) =>
        range(0, 100)
          .pipe(inThread(stage<number, number>('osThread')))
          .subscribe({
            next: (tid) => tids.add(tid),
            error: reject,
            complete: () => {
              aliveAtComplete = [...tids].some((tid) => osThreadAlive(tid));
              resolve();
            },
          }),
      );
      expect(tids.size).to.equal(1);
      expect(aliveAtComplete).to.equal(false);
    });

    it('lets the stage finish its teardown after it completes, before the thread exits', async () => {
      const flags = new SharedCounters();
      await lastValueFrom(withFlags(flags, range(0, 3)).pipe(inThread(stage('slowTeardown')), toArray()));
      expect(flags.get(0)).to.equal(1); // a 150 ms finalize ran to its end: the thread was not cut short
    });

    it('completes, and stops the source, when the stage completes by itself', async () => {
      const produced = { count: 0 };
      const out = await lastValueFrom(
        endless(produced).pipe(inThread(stage<number, number>('firstTwo'), { overflow: 'block' }), toArray()),
      );
      expect(out).to.deep.equal([0, 1]);
    });

    it('loads a stage from an ES module', async () => {
      const triple = moduleTask<Observable<number>, Observable<number>>(fixture('stage-esm.mjs'), 'triple');
      expect(await lastValueFrom(range(1, 3).pipe(inThread(triple), toArray()))).to.deep.equal([3, 6, 9]);
    });

    it('takes a stage that resolves to its Observable, also a self-contained function', async () => {
      expect(
        await lastValueFrom(range(1, 3).pipe(inThread(stage<number, number>('asyncSetup')), toArray())),
      ).to.deep.equal([2, 3, 4]);
      const { plusOne } = require(fixture('stage-inline.cjs')) as {
        plusOne: (input$: Observable<number>) => Promise<Observable<number>>;
      };
      expect(await lastValueFrom(range(1, 3).pipe(inThread(plusOne), toArray()))).to.deep.equal([2, 3, 4]);
    });

    it('names the outer variable a self-contained stage reads, as for an inline task', async () => {
      const outerStream = of(1);
      const error = await errorOf(of(1).pipe(inThread((_input$: Observable<number>) => outerStream)));
      expect(error).to.be.instanceOf(TaskError);
      expect(error.message).to.include('`outerStream`').and.include('self-contained');
    });

    it('is cold: nothing starts before subscribe, and each subscription has a stage of its own', async () => {
      const subject = new Subject<number>();
      const piped = subject.pipe(inThread(stage<number, number>('runningTotal')));
      expect(subject.observed).to.equal(false);
      const first = lastValueFrom(piped.pipe(toArray()));
      const second = lastValueFrom(piped.pipe(toArray()));
      subject.next(1);
      subject.next(2);
      subject.complete();
      expect(await first).to.deep.equal([1, 3]);
      expect(await second).to.deep.equal([1, 3]);
    });
  });

  describe('unsubscribe', () => {
    it('stays open on a never-ending source until unsubscribed, and then its thread exits', async () => {
      const before = osThreads();
      let ended = false;
      const seen: number[] = [];
      const sub = range(1, 3)
        .pipe(concatWith(NEVER), inThread(stage<number, number>('double')))
        .subscribe({ next: (v) => seen.push(v), error: () => (ended = true), complete: () => (ended = true) });
      await until(() => seen.length === 3);
      expect(seen).to.deep.equal([2, 4, 6]);
      expect(ended).to.equal(false);
      sub.unsubscribe();
      expect(await osThreadsDownTo(before)).to.be.lessThan(1_100);
      expect(ended).to.equal(false);
    });

    it('runs the stage teardown in the thread on unsubscribe, seen here through shared memory', async () => {
      const before = osThreads();
      const flags = new SharedCounters();
      const seen: number[] = [];
      const sub = withFlags(flags, range(0, 3).pipe(concatWith(NEVER)))
        .pipe(inThread(stage<number, number>('markTeardown')))
        .subscribe((n) => seen.push(n));
      await until(() => seen.length === 3); // the stage is running
      expect(flags.get(0)).to.equal(0);
      sub.unsubscribe();
      await flags.atLeast(1, 0); // finalize ran in the thread
      expect(flags.get(1)).to.equal(1); // and saw ctx.aborted
      await osThreadsDownTo(before); // then the thread exited
    });

    it('ends at once when unsubscribed before the stage has started', async () => {
      const before = osThreads();
      let emitted = false;
      const sub = range(0, 10)
        .pipe(inThread(stage<number, number>('double')))
        .subscribe({ next: () => (emitted = true), error: () => (emitted = true), complete: () => (emitted = true) });
      sub.unsubscribe();
      expect(await osThreadsDownTo(before)).to.be.lessThan(1_100);
      expect(emitted).to.equal(false);
    });

    it('lets every thread go promptly when 20 subscriptions over interval(1) are unsubscribed mid-stream, started or not', async () => {
      const before = osThreads();
      const subs = Array.from({ length: 20 }, () =>
        interval(1)
          .pipe(inThread(stage<number, number>('double')))
          .subscribe(),
      );
      await grace(300); // some stages run, some threads still load theirs
      for (const sub of subs) sub.unsubscribe();
      // Nothing is left to do in any of them: none waits out the 1 s grace of an unsubscribed stage
      // (measured ~0.1 s on an idle machine; the bound leaves room for a loaded one).
      expect(await osThreadsDownTo(before, 3_000)).to.be.lessThan(800);
    });

    it('with take(n), emits n values and ends the stage in its thread', async () => {
      const flags = new SharedCounters();
      const out = await lastValueFrom(
        withFlags(flags, range(0, 1000)).pipe(inThread(stage<number, number>('markTeardown')), take(3), toArray()),
      );
      expect(out).to.deep.equal([0, 1, 2]);
      await flags.atLeast(1, 0);
    });

    it('with take(n), stops a synchronous source that would never end by itself (overflow: block)', async () => {
      const produced = { count: 0 };
      const out = await lastValueFrom(
        endless(produced).pipe(
          inThread(stage<number, number>('double'), { bufferSize: 64, overflow: 'block' }),
          take(3),
          toArray(),
        ),
      );
      expect(out).to.deep.equal([0, 2, 4]);
    });
  });

  describe('errors', () => {
    it('passes a source error into input$ as an error', async () => {
      const out = await lastValueFrom(
        range(0, 2).pipe(
          concatWith(throwError(() => new Error('source failed'))),
          inThread(stage<number, number | string>('catchSourceError')),
          toArray(),
        ),
      );
      expect(out).to.deep.equal([0, 1, 'caught an Error: source failed']);
    });

    it('passes a source error into input$ after the values that waited on the caller side', async () => {
      const out = await lastValueFrom(
        range(0, 3_000).pipe(
          concatWith(throwError(() => new Error('source failed'))),
          inThread(stage<number, number | string>('catchSourceError'), { bufferSize: 16 }),
          toArray(),
        ),
      );
      expect(out).to.deep.equal([...Array.from({ length: 3_000 }, (_, i) => i), 'caught an Error: source failed']);
    });

    it('errors with the source error itself when the stage lets it through', async () => {
      const original = new Error('source failed');
      const error = await errorOf(
        range(0, 2).pipe(concatWith(throwError(() => original)), inThread(stage<number, number>('identity'))),
      );
      expect(error).to.equal(original);
    });

    it('errors with TaskError carrying the original when the stage throws, after the values before it', async () => {
      const seen: number[] = [];
      const error = await errorOf(
        range(0, 10).pipe(
          inThread(stage<number, number>('failOnThree')),
          tap((v) => seen.push(v)),
        ),
      );
      expect(seen).to.deep.equal([0, 1, 2]);
      expect(error).to.be.instanceOf(TaskError);
      expect(error.message).to.equal('three is not allowed');
      expect((error as TaskError).cause.name).to.equal('RangeError');
    });

    it('errors with TaskError when the stage is missing or does not return an Observable', async () => {
      const missing = await errorOf(range(0, 1).pipe(inThread(stage<number, number>('nope'))));
      expect(missing).to.be.instanceOf(TaskError);
      expect(missing.message).to.include('nope');
      const wrong = await errorOf(range(0, 1).pipe(inThread(stage('notAnObservable'))));
      expect(wrong).to.be.instanceOf(TaskError);
      expect(wrong.message).to.include('must return an Observable');
    });

    it('errors with WorkerCrashedError when the stage thread dies', async () => {
      const error = await errorOf(range(0, 5).pipe(inThread(stage<number, number>('exitOnTwo'))));
      expect(error).to.be.instanceOf(WorkerCrashedError);
      expect((error as WorkerCrashedError).exitCode).to.equal(5);
    });

    it('errors with WorkerCrashedError, rather than waiting forever, when the thread dies while the source is blocked', async () => {
      const produced = { count: 0 };
      const error = await errorOf(
        endless(produced).pipe(inThread(stage<number, number>('exitOnTwo'), { bufferSize: 16, overflow: 'block' })),
      );
      expect(error).to.be.instanceOf(WorkerCrashedError);
    });

    it('emits the outputs the stage emitted before its thread died, then WorkerCrashedError', async () => {
      const seen: number[] = [];
      const error = await errorOf(
        range(0, 5).pipe(
          inThread(stage<number, number>('emitThenExitOnTwo')),
          tap((v) => seen.push(v)),
        ),
      );
      expect(seen).to.deep.equal([0, 1]);
      expect(error).to.be.instanceOf(WorkerCrashedError);
      expect((error as WorkerCrashedError).exitCode).to.equal(4);
    });

    it('emits the outputs, then errors with TaskError, when the teardown throws as the stage completes', async () => {
      for (const name of ['throwingTeardown', 'throwingTeardownAsync']) {
        const seen: number[] = [];
        const error = await errorOf(
          range(1, 3).pipe(
            inThread(stage<number, number>(name)),
            tap((v) => seen.push(v)),
          ),
        );
        expect(seen, name).to.deep.equal([1, 2, 3]);
        expect(error, name).to.be.instanceOf(TaskError);
        expect(error.message, name).to.match(/teardown failed/);
      }
    });

    it('reports a teardown that throws on unsubscribe as a TaskError through rxjs config.onUnhandledError', async () => {
      const reported: unknown[] = [];
      const previous = config.onUnhandledError;
      config.onUnhandledError = (error) => reported.push(error);
      try {
        const seen = await valuesWhileOpen(range(1, 3).pipe(concatWith(NEVER), inThread(stage('throwingTeardown'))), 3);
        expect(seen).to.deep.equal([1, 2, 3]);
        await until(() => reported.length > 0);
        expect(reported).to.have.length(1);
        expect(reported[0]).to.be.instanceOf(TaskError);
        expect((reported[0] as TaskError).message).to.equal('teardown failed');
      } finally {
        config.onUnhandledError = previous;
      }
    });

    it('never starts a thread nor subscribes to its source for an already-closed subscriber', async () => {
      const before = osThreads();
      let subscribed = 0;
      const source$ = new Observable<number>(() => {
        subscribed++;
      });
      const error = await errorOf(
        combineLatest([throwError(() => new Error('first')), source$.pipe(inThread(stage<number, number>('double')))]),
      );
      expect(error.message).to.equal('first');
      expect(subscribed).to.equal(0);
      await grace(50);
      expect(osThreads()).to.be.at.most(before);
    });

    it('ends the stage although the source teardown throws, on unsubscribe and on a stage error, with nothing uncaught', async () => {
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        const before = osThreads();
        const throwingSource$ = new Observable<number>((subscriber) => {
          for (let i = 0; i < 5; i++) subscriber.next(i);
          return () => {
            throw new Error('source teardown failed');
          };
        });
        expect(await valuesWhileOpen(throwingSource$.pipe(inThread(stage<number, number>('double'))), 5)).to.deep.equal(
          [0, 2, 4, 6, 8],
        );
        await osThreadsDownTo(before);
        const error = await errorOf(throwingSource$.pipe(inThread(stage<number, number>('failOnThree'))));
        expect(error).to.be.instanceOf(TaskError);
        await grace(50);
        expect(uncaught).to.deep.equal([]);
      } finally {
        process.off('uncaughtException', onUncaught);
      }
    });

    it('fails a source value that cannot be cloned with SerializationError', async () => {
      const error = await errorOf(
        range(0, 2).pipe(
          map((i) => (i === 1 ? Symbol('x') : i)),
          inThread(stage('identity')),
        ),
      );
      expect(error).to.be.instanceOf(SerializationError);
      expect((error.cause as Error).name).to.equal('DataCloneError');
    });

    it('sends the values before an unclonable source value to the stage, and errors after their outputs', async () => {
      // One synchronous burst: the values go in one message, which cannot be cloned as a whole.
      const seen: unknown[] = [];
      const error = await errorOf(
        of(...([1, 2, Symbol('x'), 4] as unknown[])).pipe(
          inThread(stage('double')),
          tap((v) => seen.push(v)),
        ),
      );
      expect(seen).to.deep.equal([2, 4]);
      expect(error).to.be.instanceOf(SerializationError);
      expect((error.cause as Error).name).to.equal('DataCloneError');
    });

    it("hands an unclonable source value to the stage as its input's error, which the stage may catch", async () => {
      const out = await lastValueFrom(
        of(...([1, Symbol('x'), 3] as unknown[])).pipe(inThread(stage('catchSourceError')), toArray()),
      );
      expect(out).to.have.length(2);
      expect(out[0]).to.equal(1);
      expect(out[1]).to.match(/^caught an Error: A source value could not be cloned/);
    });

    it('errors after the outputs of the values before one whose transfer callback throws, with its error', async () => {
      const seen: unknown[] = [];
      const thrown = new Error('no transfer for 3');
      const transfer = (x: number): [] => {
        if (x === 3) throw thrown;
        return [];
      };
      const error = await errorOf(
        of(1, 2, 3, 4).pipe(
          inThread(stage<number, number>('double'), { transfer }),
          tap((v) => seen.push(v)),
        ),
      );
      expect(seen).to.deep.equal([2, 4]);
      expect(error).to.equal(thrown);
    });

    it('fails an output that cannot be cloned with SerializationError, after the outputs before it', async () => {
      const seen: unknown[] = [];
      const error = await errorOf(
        range(0, 5).pipe(
          inThread(stage('unclonableOnTwo')),
          tap((v) => seen.push(v)),
        ),
      );
      expect(seen).to.deep.equal([0, 1]);
      expect(error).to.be.instanceOf(SerializationError);
    });
  });

  describe("never blocks the caller's event loop by default", () => {
    it('lets timers run while a stuck stage holds values beyond bufferSize, then delivers them all in order', async () => {
      const flags = new SharedCounters();
      const out: number[] = [];
      let completed = false;
      const sub = withFlags(flags, range(0, 10_000))
        .pipe(inThread(stage<number, number>('heldUntilGo'), { bufferSize: 64 }))
        .subscribe({ next: (v) => out.push(v), complete: () => (completed = true) });
      await flags.atLeast(1, 2); // the stage holds its thread on its first value
      let fired = false;
      setTimeout(() => (fired = true), 1);
      await grace(20);
      expect(fired).to.equal(true);
      expect(out).to.deep.equal([]);
      flags.set(3, 1); // go
      await until(() => completed);
      sub.unsubscribe();
      expect(out).to.deep.equal(Array.from({ length: 10_000 }, (_, i) => i));
    });

    it('with overflow: block, sends the values that waited for the stage to start, in order, then the rest', async () => {
      const out = await lastValueFrom(
        range(0, 5_000).pipe(
          inThread(stage<number, number>('double'), { bufferSize: 64, overflow: 'block' }),
          toArray(),
        ),
      );
      expect(out).to.deep.equal(Array.from({ length: 5_000 }, (_, i) => i * 2));
    });

    for (const overflow of ['buffer', 'block'] as const) {
      it(`returns from subscribe, runs timers and unsubscribes when the stage never starts (overflow: ${overflow})`, async () => {
        const before = osThreads();
        for (const never of [stage('neverStarts'), moduleTask(fixture('stage-never-loads.mjs'), 'stage')]) {
          let ended = false;
          const sub = range(0, 10_000)
            .pipe(inThread(never as Task<Observable<number>, Observable<number>>, { bufferSize: 64, overflow }))
            .subscribe({ error: () => (ended = true), complete: () => (ended = true) });
          let fired = false;
          setTimeout(() => (fired = true), 1);
          await grace(50);
          expect(fired).to.equal(true);
          expect(ended).to.equal(false);
          sub.unsubscribe();
        }
        await osThreadsDownTo(before);
      });
    }
  });

  describe('prompt delivery', () => {
    it("sends each result of a CPU-bound burst as it is done, not when the burst's batch is done", async () => {
      const flags = new SharedCounters();
      const out = await lastValueFrom(
        withFlags(flags, range(0, 4)).pipe(
          inThread(stage<number, number>('promptResults')),
          tap((k) => flags.set(0, k + 1)), // the stage waits for this before item k + 1
          toArray(),
        ),
      );
      expect(out).to.deep.equal([0, 1, 2, 3]);
      expect(flags.get(1)).to.equal(0); // no item waited in vain for the result before it
    });
  });

  describe('thread close', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'rxthreads-stage-close-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const closing = <O>(name: string): Task<Observable<unknown>, Observable<O>> =>
      moduleTask(fixture('stage-close.cjs'), name);

    it('runs onThreadClose callbacks, drains the loop and fires process exit before it completes', async () => {
      const out = await lastValueFrom(
        concat(of(dir), range(1, 3)).pipe(inThread(closing<number>('writesOnClose')), toArray()),
      );
      expect(out).to.deep.equal([1, 2, 3]);
      expect(readFileSync(join(dir, 'closed.txt'), 'utf8')).to.equal('closed');
      expect(statSync(join(dir, 'stream.bin')).size).to.equal(1024 * 1024); // an unawaited write stream
      expect(readFileSync(join(dir, 'exit.txt'), 'utf8')).to.equal('exit');
    });

    it('closes the same way after an unsubscribe', async () => {
      const before = osThreads();
      await valuesWhileOpen(concat(of(dir), range(1, 3), NEVER).pipe(inThread(closing('writesOnClose'))), 3);
      await osThreadsDownTo(before);
      expect(readFileSync(join(dir, 'closed.txt'), 'utf8')).to.equal('closed');
      expect(statSync(join(dir, 'stream.bin')).size).to.equal(1024 * 1024);
      expect(existsSync(join(dir, 'exit.txt'))).to.equal(true);
    });

    it('terminates a thread whose close callback hangs after closeGraceMs, then completes', async () => {
      const before = osThreads();
      const out = await lastValueFrom(
        concat(of(dir), range(1, 2)).pipe(inThread(closing<number>('hangsOnClose'), { closeGraceMs: 200 }), toArray()),
      );
      expect(out).to.deep.equal([1, 2]);
      expect(osThreads()).to.be.at.most(before);
    });

    it('after an unsubscribe, terminates a thread whose close callback hangs within about a second', async () => {
      const before = osThreads();
      await valuesWhileOpen(concat(of(dir), range(1, 2), NEVER).pipe(inThread(closing('hangsOnClose'))), 2);
      // closeGraceMs is 5000 by default; after an unsubscribe the thread has 1000 ms at most.
      await osThreadsDownTo(before, 3_000);
    });

    it('errors with TaskError, after the outputs, when a close callback throws', async () => {
      const seen: number[] = [];
      const error = await errorOf(
        concat(of(dir), range(1, 2)).pipe(
          inThread(closing<number>('throwsOnClose')),
          tap((v) => seen.push(v)),
        ),
      );
      expect(seen).to.deep.equal([1, 2]);
      expect(error).to.be.instanceOf(TaskError);
      expect(error.message).to.equal('close failed');
    });
  });

  describe('transfers and backpressure', () => {
    it('moves buffers both ways with transfer and ctx.transfer', async () => {
      const buffers = [new Uint8Array([1, 2]), new Uint8Array([3])];
      const out = await lastValueFrom(
        range(0, 2).pipe(
          map((i) => buffers[i]!),
          inThread(stage<Uint8Array, Uint8Array>('doubleBytes'), { transfer: (b) => [b.buffer as ArrayBuffer] }),
          map((b) => [...b]),
          toArray(),
        ),
      );
      expect(out).to.deep.equal([[2, 4], [6]]);
      expect(buffers.map((b) => b.byteLength)).to.deep.equal([0, 0]);
    });

    it('holds the source while bufferSize values wait for a slower stage (overflow: block)', async () => {
      const flags = new SharedCounters();
      const started = stageStarted();
      const out = await lastValueFrom(
        withFlags(flags, afterStart(started, 20_000, flags)).pipe(
          inThread(stage<number, number>('slowBacklogProbe'), { bufferSize: 200, overflow: 'block' }),
          tap(started.saw),
          toArray(),
        ),
      );
      expect(out).to.have.length(20_000);
      // The backlog filled up (the source ran ahead of the stage) and never went past bufferSize.
      expect(flags.get(1)).to.equal(200);
    });

    it('runs a 1,000,000-value synchronous source within bufferSize, in flat memory (overflow: block)', async function () {
      this.timeout(30_000);
      const flags = new SharedCounters();
      const started = stageStarted();
      const rssBefore = process.memoryUsage.rss();
      let rssPeak = rssBefore;
      let count = 0;
      await lastValueFrom(
        withFlags(flags, afterStart(started, 1_000_000, flags)).pipe(
          inThread(stage<number, number>('backlogProbe'), { bufferSize: 1024, overflow: 'block' }),
          tap(started.saw),
          tap(() => {
            if ((++count & 0xffff) === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
          }),
        ),
      );
      expect(count).to.equal(1_000_000);
      expect(flags.get(1)).to.equal(1024); // bufferSize values waited for the stage, never more
      expect((rssPeak - rssBefore) / 1024 / 1024).to.be.lessThan(100);
    });

    it('fails with QueueFullError when bufferSize values wait with overflow: error, after its thread exited', async () => {
      const before = osThreads();
      const error = await errorOf(
        range(0, 100_000).pipe(inThread(stage('slowEcho'), { bufferSize: 50, overflow: 'error' })),
      );
      expect(error).to.be.instanceOf(QueueFullError);
      expect(error.message).to.include('bufferSize 50');
      expect(osThreads()).to.be.at.most(before);
    });

    it('validates its options', () => {
      expect(() => inThread(stage('double'), { bufferSize: 0 })).to.throw(TypeError, /`bufferSize`.*`0`/);
      expect(() => inThread(stage('double'), { bufferSize: 1.5 })).to.throw(TypeError, /`bufferSize`.*`1.5`/);
      expect(() => inThread(stage('double'), { overflow: 'drop' as 'error' })).to.throw(
        TypeError,
        /`overflow`.*`drop`/,
      );
      expect(() => inThread(stage('double'), { transfer: [] as unknown as () => [] })).to.throw(
        TypeError,
        /`transfer`/,
      );
      expect(() => inThread(stage('double'), null as unknown as {})).to.throw(TypeError, /`options`/);
      expect(() => inThread(stage('double'), { closeGraceMs: -1 })).to.throw(TypeError, /`closeGraceMs`.*`-1`/);
      expect(() => inThread(42 as unknown as Task<Observable<number>, Observable<number>>)).to.throw(TypeError);
    });
  });
});
