// After it posts jobs to a pool thread, the main thread keeps its event loop turning a moment while
// their outcomes are due (lib/engine/result-spin.ts). What must hold whatever the timing: the turns
// start with the post, and they end, for a job that runs on as for one whose outcome is back, so
// that a pool never keeps the event loop from sleeping and lets the process exit.

import { availableParallelism } from 'node:os';
import { expect } from 'chai';
import { lastValueFrom, range, toArray } from 'rxjs';
import { moduleTask, offloadToThread, ThreadPool } from 'rxthreads';
import { fixture, SharedCounters } from '../helpers';

type Input = { sab: SharedArrayBuffer; value: number };
const gated = moduleTask<Input, number>(fixture('tasks.cjs'), 'gated');

/** Callbacks waiting for a turn of the event loop (`setImmediate`), the spin's included. */
const pendingTurns = () => process.getActiveResourcesInfo().filter((name) => name === 'Immediate').length;

/** Resolves once `test` holds, looking after each turn of the event loop (the mocha timeout bounds it). */
async function afterTurnsUntil(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((resolve) => setImmediate(resolve));
}

describe('the main thread awake for the outcomes of jobs it posted', () => {
  let pool: ThreadPool | undefined;

  before(function () {
    if (availableParallelism() < 2) this.skip(); // it never turns on one core (unit spec)
  });

  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('turns the event loop from the post of a lone job, and stops while the job runs on', async () => {
    pool = new ThreadPool({ size: 2 });
    await pool.run((x: number) => x + 1, 1); // the threads have started
    await afterTurnsUntil(() => pendingTurns() === 0);
    const counters = new SharedCounters();
    const running = pool.run(gated, { sab: counters.buffer, value: 7 });
    // The job goes out in one of this turn's microtasks; its post starts the turns.
    for (let i = 0; i < 100 && pendingTurns() === 0; i++) await Promise.resolve();
    expect(pendingTurns(), 'turns once the job is posted').to.equal(1);
    await counters.atLeast(1);
    // The job waits for its gate: the turns end by themselves all the same.
    await afterTurnsUntil(() => pendingTurns() === 0);
    counters.set(2, 1);
    expect(await running).to.equal(7);
    await afterTurnsUntil(() => pendingTurns() === 0);
  });

  it('leaves no turn pending once the outcomes are back, lone values and streams alike', async () => {
    pool = new ThreadPool({ size: 2 });
    for (let i = 0; i < 200; i++) {
      expect(await pool.run((x: number) => x + 1, i)).to.equal(i + 1);
      // The spin sees in its next turn that nothing is due: one turn of the spec's own after it.
      await new Promise((resolve) => setImmediate(resolve));
      expect(pendingTurns(), `after call ${i}`).to.equal(0);
    }
    const out = await lastValueFrom(
      range(0, 20_000).pipe(
        offloadToThread((x: number) => x * 2, { pool }),
        toArray(),
      ),
    );
    expect(out).to.have.length(20_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pendingTurns()).to.equal(0);
  });
});
