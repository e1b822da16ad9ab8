import { expect } from 'chai';
import fc from 'fast-check';
import { AbortError, moduleTask, TaskError, ThreadPool, WorkerCrashedError } from 'rxthreads';
import { fixture, record, scale, within } from '../helpers';

const behave = moduleTask<object, number>(fixture('hostile.cjs'), 'behave');

type Kind = 'ok' | 'throw' | 'spin' | 'crash';
interface Plan {
  kind: Kind;
  transfer: boolean;
  /** Cancel after this many ms (-1: never). */
  cancelAfter: number;
  ms: number;
}

const plan = fc.record<Plan>({
  kind: fc.constantFrom<Kind>('ok', 'ok', 'ok', 'throw', 'spin', 'crash'),
  transfer: fc.boolean(),
  cancelAfter: fc.oneof(fc.constant(-1), fc.constant(-1), fc.integer({ min: 0, max: 40 })),
  ms: fc.integer({ min: 1, max: 30 }),
});

describe('engine invariants (property, randomised timing)', function () {
  this.timeout(120_000);

  const propertyRuns = scale(25, 300);
  it('settles every job once; moved inputs run at most once and never on detached buffers; a cancel harms only its own job', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(plan, { minLength: 1, maxLength: 14 }),
        fc.integer({ min: 1, max: 3 }),
        async (plans, size) => {
          const pool = new ThreadPool({ size, cancelGraceMs: 20 });
          const runs = new Int32Array(new SharedArrayBuffer(4 * plans.length));
          try {
            const outcomes = plans.map((p, id) => {
              const bytes = p.transfer ? new Uint8Array(32) : undefined;
              const input = { sab: runs.buffer, id, kind: p.kind, ms: p.ms, bytes };
              const ac = p.cancelAfter >= 0 ? new AbortController() : undefined;
              if (ac !== undefined) setTimeout(() => ac.abort(), p.cancelAfter);
              const options = { signal: ac?.signal, transfer: bytes === undefined ? undefined : [bytes.buffer] };
              return within(pool.run(behave, input, options), 10_000);
            });
            const settled = await Promise.all(outcomes);
            settled.forEach((outcome, id) => {
              const p = plans[id]!;
              expect(outcome, `job ${id} was left pending`).to.not.equal('pending');
              if (outcome === 'pending') return;
              if (p.transfer) expect(Atomics.load(runs, id), `moved job ${id} ran twice`).to.be.at.most(1);
              if (outcome.status === 'fulfilled') {
                expect(outcome.value, `job ${id} ran on a detached buffer`).to.equal(p.transfer ? 32 : id);
                expect(p.kind === 'ok' || p.kind === 'spin').to.equal(true);
                return;
              }
              const error = outcome.reason as Error;
              if (error instanceof AbortError) {
                expect(p.cancelAfter, `job ${id} was aborted though nobody cancelled it`).to.be.at.least(0);
              } else if (error instanceof TaskError) {
                expect(p.kind).to.equal('throw');
              } else if (error instanceof WorkerCrashedError) {
                expect(p.kind === 'crash' || p.transfer, `job ${id} died with another's thread`).to.equal(true);
              } else {
                expect.fail(`job ${id} failed with ${error?.name}: ${error?.message}`);
              }
            });
          } finally {
            await pool.terminate();
          }
        },
      ),
      { numRuns: propertyRuns },
    );
    record('engine invariants property runs', propertyRuns);
  });
});
