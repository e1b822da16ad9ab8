import { expect } from 'chai';
import { EMPTY, lastValueFrom, NEVER, range, Subject, throwError } from 'rxjs';
import { concatWith, map, take, tap, toArray } from 'rxjs/operators';
import { inThread, moduleTask, QueueFullError, SerializationError, TaskError, WorkerCrashedError } from 'rxthreads';
import { fixture, osThreads, osThreadsDownTo, SharedCounters } from '../helpers';

const ops = fixture('stage-ops.cjs');
const stage = <I, O>(name: string) => moduleTask<import('rxjs').Observable<I>, import('rxjs').Observable<O>>(ops, name);

describe('inThread', () => {
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

  it('keeps stateful operators working: the stage lives in one thread for the whole subscription', async () => {
    expect(
      await lastValueFrom(range(1, 5).pipe(inThread(stage<number, number>('runningTotal')), toArray())),
    ).to.deep.equal([1, 3, 6, 10, 15]);
    const values = [5, 3, 5, 1, 3, 9, 1];
    expect(
      await lastValueFrom(
        range(0, values.length).pipe(
          map((i) => values[i]!),
          inThread(stage<number, number[]>('distinctSorted')),
        ),
      ),
    ).to.deep.equal([1, 3, 5, 9]);
  });

  it('completes only after the thread has exited (the done future)', async () => {
    const before = osThreads();
    let atComplete = -1;
    await new Promise<void>((resolve, reject) =>
      range(0, 100)
        .pipe(inThread(stage<number, number>('double')))
        .subscribe({
          error: reject,
          complete: () => {
            atComplete = osThreads();
            resolve();
          },
        }),
    );
    expect(atComplete).to.be.at.most(before);
  });

  it('stays open on a never-ending stage until unsubscribed, and then its thread exits', async () => {
    const before = osThreads();
    let completed = false;
    const seen: number[] = [];
    const sub = range(1, 3)
      .pipe(concatWith(NEVER), inThread(stage<number, number>('double')))
      .subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 5));
    expect(seen).to.deep.equal([2, 4, 6]);
    expect(completed).to.equal(false);
    sub.unsubscribe();
    expect(await osThreadsDownTo(before)).to.be.lessThan(1_100);
  });

  it('runs the stage teardown in the thread on unsubscribe, seen here through shared memory', async () => {
    const flags = new SharedCounters();
    const seen: number[] = [];
    const sub = range(0, 3)
      .pipe(
        map((n) => ({ sab: flags.buffer, n })),
        concatWith(NEVER),
        inThread(stage<{ sab: SharedArrayBuffer; n: number }, number>('markTeardown')),
      )
      .subscribe((n) => seen.push(n));
    while (seen.length < 3) await new Promise((r) => setTimeout(r, 5)); // the stage is running
    expect(flags.get(0)).to.equal(0);
    sub.unsubscribe();
    await flags.atLeast(1, 0); // finalize ran in the thread
    expect(flags.get(1)).to.equal(1); // and saw ctx.aborted
  });

  it('with take(n), emits n values and ends the stage in its thread', async () => {
    const flags = new SharedCounters();
    const out = await lastValueFrom(
      range(0, 1000).pipe(
        map((n) => ({ sab: flags.buffer, n })),
        inThread(stage<{ sab: SharedArrayBuffer; n: number }, number>('markTeardown')),
        take(3),
        toArray(),
      ),
    );
    expect(out).to.deep.equal([0, 1, 2]);
    await flags.atLeast(1, 0);
  });

  it('passes a source error into input$; a stage that lets it through errors with the original', async () => {
    const original = new Error('source failed');
    const error = await lastValueFrom(
      range(0, 2).pipe(concatWith(throwError(() => original)), inThread(stage<number, number>('identity'))),
    ).catch((e: unknown) => e);
    expect(error).to.equal(original);
  });

  it('errors with TaskError carrying the original when the stage throws', async () => {
    const error = await lastValueFrom(range(0, 10).pipe(inThread(stage<number, number>('failOnThree')))).catch(
      (e: Error) => e,
    );
    expect(error).to.be.instanceOf(TaskError);
    expect((error as TaskError).message).to.equal('three is not allowed');
    expect((error as TaskError).cause.name).to.equal('RangeError');
  });

  it('errors with TaskError when the stage is missing or does not return an Observable', async () => {
    const missing = await lastValueFrom(range(0, 1).pipe(inThread(stage<number, number>('nope')))).catch(
      (e: Error) => e,
    );
    expect(missing).to.be.instanceOf(TaskError);
    const wrong = await lastValueFrom(range(0, 1).pipe(inThread(stage('notAnObservable')))).catch((e: Error) => e);
    expect(wrong).to.be.instanceOf(TaskError);
    expect((wrong as Error).message).to.include('must return an Observable');
  });

  it('errors with WorkerCrashedError when the stage thread dies', async () => {
    const error = await lastValueFrom(range(0, 5).pipe(inThread(stage<number, number>('exitOnTwo')))).catch(
      (e: Error) => e,
    );
    expect(error).to.be.instanceOf(WorkerCrashedError);
    expect((error as WorkerCrashedError).exitCode).to.equal(5);
  });

  it('fails unclonable values either way with SerializationError', async () => {
    const input = await lastValueFrom(
      range(0, 2).pipe(
        map((i) => (i === 1 ? Symbol('x') : i)),
        inThread(stage('identity')),
      ),
    ).catch((e: Error) => e);
    expect(input).to.be.instanceOf(SerializationError);
    const output = await lastValueFrom(range(0, 2).pipe(inThread(stage('unclonable')))).catch((e: Error) => e);
    expect(output).to.be.instanceOf(SerializationError);
  });

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

  it('bounds the backlog when the stage falls behind: the source waits (overflow: block)', async () => {
    let produced = 0;
    let received = 0;
    let maxAhead = 0;
    const total = await lastValueFrom(
      range(0, 20_000).pipe(
        tap(() => {
          produced++;
          maxAhead = Math.max(maxAhead, produced - received);
        }),
        inThread(stage<number, number>('slowEcho'), { bufferSize: 200 }),
        tap(() => received++),
        toArray(),
      ),
    );
    expect(total).to.have.length(20_000);
    // At most bufferSize values wait for the stage, and at most bufferSize + 256 of its outputs
    // wait to be emitted here.
    expect(maxAhead).to.be.at.most(2 * 200 + 256);
  });

  it('fails with QueueFullError when the stage falls behind with overflow: error', async () => {
    const error = await lastValueFrom(
      range(0, 100_000).pipe(inThread(stage('slowEcho'), { bufferSize: 50, overflow: 'error' })),
    ).catch((e: Error) => e);
    expect(error).to.be.instanceOf(QueueFullError);
  });

  it('runs a 1,000,000-value synchronous source with flat memory', async function () {
    this.timeout(60_000);
    const before = process.memoryUsage.rss();
    let peak = before;
    let count = 0;
    await lastValueFrom(
      range(0, 1_000_000).pipe(
        inThread(stage<number, number>('double'), { bufferSize: 1024 }),
        tap(() => {
          if ((++count & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage.rss());
        }),
      ),
    );
    expect(count).to.equal(1_000_000);
    expect((peak - before) / 1024 / 1024).to.be.lessThan(100);
  });

  it('is cold and validates its options', async () => {
    const subject = new Subject<number>();
    const piped = subject.pipe(inThread(stage<number, number>('double')));
    expect(subject.observed).to.equal(false);
    const out = lastValueFrom(piped.pipe(toArray()));
    subject.next(1);
    subject.complete();
    expect(await out).to.deep.equal([2]);
    expect(() => inThread(stage('double'), { bufferSize: 0 })).to.throw(TypeError, /`bufferSize`.*`0`/);
    expect(() => inThread(stage('double'), { overflow: 'drop' as 'error' })).to.throw(TypeError, /`overflow`.*`drop`/);
  });
});
