import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { type HandoffWords, LoneHandoff } from '../../lib/engine/lone-handoff';
import { ThreadHandoff } from '../../lib/thread/handoff';
import { Kind, Outcome, outcomeCode } from '../../lib/wire/thread';
import { Handoff, ThreadInt, threadInts, threadTimes } from '../../lib/wire/words';

/** The built thread side, loaded in a real thread (specs run against the build). */
const dist = dirname(require.resolve('rxthreads'));

/** A thread's words with no slot, as both sides see them: the thread-wide ones alone. */
function sharedWords(): HandoffWords {
  return {
    ints: new Int32Array(new SharedArrayBuffer(threadInts * Int32Array.BYTES_PER_ELEMENT)),
    times: new Float64Array(new SharedArrayBuffer(threadTimes * Float64Array.BYTES_PER_ELEMENT)),
  };
}

/** Both sides of one thread's hand-off; `waitMs` bounds the main thread's wait. */
function pair(waitMs = 1): { words: HandoffWords; main: LoneHandoff; thread: ThreadHandoff } {
  const words = sharedWords();
  const thread = ThreadHandoff.of({
    ints: words.ints.buffer as SharedArrayBuffer,
    times: words.times.buffer as SharedArrayBuffer,
  });
  if (thread === undefined) throw new Error('shared words expected');
  return { words, main: new LoneHandoff(words, waitMs), thread };
}

const stateOf = (words: HandoffWords) => Atomics.load(words.ints, ThreadInt.Handoff);
/** The thread spins meanwhile: its spin count moves, as a thread running on another core's does. */
const spins = (words: HandoffWords) => Atomics.add(words.ints, ThreadInt.Spins, 1);

describe('LoneHandoff (a lone outcome handed over in shared memory)', () => {
  it('gives the outcome as the results message it stands for, and no message goes', () => {
    const { words, main, thread } = pair();
    expect(main.arm()).to.equal(true);
    expect(stateOf(words)).to.equal(Handoff.Awaited);
    const code = outcomeCode(5, Outcome.Ok);
    expect(thread.give(code, 41.5, 0.25)).to.equal(true);
    expect(main.take()).to.deep.equal([Kind.Results, 0.25, code, 41.5]);
    expect(stateOf(words)).to.equal(Handoff.Off);
    expect(main.given).to.equal(1);
  });

  it('ends its wait as soon as the thread, running meanwhile, hands the outcome over or posts', async () => {
    for (const act of ['give', 'posting'] as const) {
      // With a wait of a minute, only the other thread can end it (the mocha timeout would end the test).
      const { words, main } = pair(60_000);
      const go = new Int32Array(new SharedArrayBuffer(4));
      const thread = new Worker(
        `const { workerData: { handoff, ints, times, go, act, code } } = require('node:worker_threads');
         const side = require(handoff).ThreadHandoff.of({ ints, times });
         Atomics.wait(go, 0, 0);
         if (act === 'give') side.give(code, 7, 0.5); else side.posting();`,
        {
          eval: true,
          workerData: {
            handoff: join(dist, 'lib/thread/handoff.js'),
            ints: words.ints.buffer,
            times: words.times.buffer,
            go,
            act,
            code: outcomeCode(3, Outcome.Ok),
          },
        },
      );
      try {
        main.arm();
        spins(words);
        Atomics.store(go, 0, 1);
        Atomics.notify(go, 0);
        const outcome = main.take();
        if (act === 'give') expect(outcome).to.deep.equal([Kind.Results, 0.5, outcomeCode(3, Outcome.Ok), 7]);
        else expect(outcome).to.equal(undefined);
        expect(stateOf(words)).to.equal(Handoff.Off);
      } finally {
        await thread.terminate();
      }
    }
  });

  it('takes no outcome after the thread posted: it comes by message alone', () => {
    const { words, main, thread } = pair();
    main.arm();
    thread.posting();
    expect(stateOf(words)).to.equal(Handoff.Posted);
    expect(main.take()).to.equal(undefined);
    expect(stateOf(words)).to.equal(Handoff.Off);
    expect(thread.give(outcomeCode(0, Outcome.Ok), 1, 0)).to.equal(false);
  });

  it('does not wait for a thread whose spin count did not move during the post, and the thread learns it', () => {
    const { words, main, thread } = pair(60_000);
    main.arm();
    const started = performance.now();
    expect(main.take()).to.equal(undefined);
    expect(performance.now() - started).to.be.below(1_000);
    expect(stateOf(words)).to.equal(Handoff.Unwaited);
    // The thread finds nobody waiting: it posts its outcome, and knows it was not waited for.
    expect(thread.give(outcomeCode(0, Outcome.Ok), 1, 0)).to.equal(false);
    thread.posting();
    expect(thread.unwaited).to.equal(true);
    // Not waiting is no miss: the next lone value is awaited again.
    expect(main.arm()).to.equal(true);
    expect(stateOf(words)).to.equal(Handoff.Awaited);
    spins(words);
    expect(thread.give(outcomeCode(0, Outcome.Ok), 2, 0)).to.equal(true);
    expect(thread.unwaited, 'an outcome handed over was waited for').to.equal(false);
    expect(main.take()).to.not.equal(undefined);
    main.arm();
    spins(words);
    thread.posting();
    expect(thread.unwaited, 'a post while the main thread waits').to.equal(false);
  });

  it('after waiting in vain skips the next lone values, twice as many after each miss in a row, and waits again after a hand-off', () => {
    const { words, main, thread } = pair(0.05);
    const skipped = () => {
      let n = 0;
      while (!main.arm()) n++;
      return n;
    };
    main.arm();
    spins(words);
    expect(main.take()).to.equal(undefined);
    expect(skipped()).to.equal(2);
    spins(words);
    expect(main.take()).to.equal(undefined);
    expect(skipped()).to.equal(4);
    spins(words);
    thread.give(outcomeCode(1, Outcome.Ok), 2, 0);
    expect(main.take()).to.not.equal(undefined);
    main.arm();
    spins(words);
    expect(main.take()).to.equal(undefined);
    expect(skipped(), 'misses in a row start again from one').to.equal(2);
  });

  it('skips at most 64 lone values after misses in a row', () => {
    const { words, main } = pair(0.01);
    for (let miss = 0; miss < 10; miss++) {
      while (!main.arm());
      spins(words);
      main.take();
    }
    let n = 0;
    while (!main.arm()) n++;
    expect(n).to.equal(64);
  });

  it('withdraws when the value could not be posted: the thread finds nobody waiting', () => {
    const { words, main, thread } = pair();
    main.arm();
    main.withdraw();
    expect(stateOf(words)).to.equal(Handoff.Off);
    expect(thread.give(outcomeCode(0, Outcome.Ok), 1, 0)).to.equal(false);
  });

  it('is not made where the words are copies, not shared memory (a page that is not cross-origin isolated)', () => {
    const ints = new Int32Array(threadInts);
    const times = new Float64Array(threadTimes);
    expect(LoneHandoff.of({ ints, times })).to.equal(undefined);
    const local = {
      ints: ints.buffer as unknown as SharedArrayBuffer,
      times: times.buffer as unknown as SharedArrayBuffer,
    };
    expect(ThreadHandoff.of(local)).to.equal(undefined);
    expect(LoneHandoff.of(sharedWords())).to.be.instanceOf(LoneHandoff);
  });
});
