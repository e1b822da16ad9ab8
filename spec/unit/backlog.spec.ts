import { expect } from 'chai';
import fc from 'fast-check';
import { Backlog } from '../../lib/engine/backlog';
import type { ClockReading } from '../../lib/util/clock';

type Entry = [input: unknown, transfer: ArrayBuffer[] | undefined, time: ClockReading, tag: number];

/** The same value, transfer list and clock reading (the very objects), and the same tag. */
function same(taken: Entry, pushed: Entry): void {
  expect(taken[0]).to.equal(pushed[0]);
  expect(taken[1]).to.equal(pushed[1]);
  expect(taken[2]).to.equal(pushed[2]);
  expect(taken[3]).to.equal(pushed[3]);
}

describe('Backlog (a stream’s waiting values)', () => {
  it('takes values first in, first out, with their transfer lists, times and tags, across chunks and reuse', () => {
    const operation = fc.oneof(
      {
        arbitrary: fc.record({
          push: fc.integer({ min: 1, max: 5000 }),
          transfer: fc.boolean(),
          numbers: fc.boolean(),
          // Values sharing one clock reading (as submissions in one turn do), and tags that skip.
          perReading: fc.integer({ min: 1, max: 100 }),
          skipEvery: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
        }),
        weight: 3,
      },
      { arbitrary: fc.record({ take: fc.integer({ min: 1, max: 5000 }) }), weight: 2 },
      { arbitrary: fc.record({ takeValues: fc.integer({ min: 1, max: 300 }), times: fc.nat(40) }), weight: 2 },
      { arbitrary: fc.constant({ clear: true }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 30 }), (operations) => {
        const backlog = new Backlog();
        const model: Entry[] = [];
        let tag = 0;
        let reading: ClockReading = { at: -1 };
        const take = () => backlog.take((...entry) => entry as Entry);
        for (const op of operations) {
          if ('push' in op) {
            for (let i = 0; i < op.push; i++, tag++) {
              if (op.skipEvery !== undefined && i % op.skipEvery === op.skipEvery - 1) tag += 7;
              if (i % op.perReading === 0) reading = { at: tag };
              const entry: Entry = [
                op.numbers ? tag * 1.5 : { tag },
                op.transfer && tag % 3 === 0 ? [new ArrayBuffer(1)] : undefined,
                reading,
                tag,
              ];
              backlog.push(...entry);
              model.push(entry);
            }
          } else if ('take' in op) {
            for (let i = 0; i < op.take && model.length > 0; i++) same(take(), model.shift()!);
          } else if ('takeValues' in op) {
            for (let i = 0; i < op.times && model.length > 0; i++) {
              const made = backlog.takeValues(op.takeValues, (inputs, time, first) => ({ inputs, time, first }));
              if (made === undefined) {
                same(take(), model.shift()!);
                continue;
              }
              const taken = model.splice(0, made.inputs.length);
              expect(made.inputs.length).to.be.within(2, op.takeValues);
              expect(Array.from(made.inputs)).to.deep.equal(taken.map(([input]) => input));
              expect(taken.every(([, transfer]) => transfer === undefined)).to.equal(true);
              expect(made.time).to.equal(taken[0]![2]);
              expect(made.first).to.equal(taken[0]![3]);
            }
          } else {
            backlog.clear();
            model.length = 0;
          }
          expect(backlog.length).to.equal(model.length);
        }
        while (model.length > 0) same(take(), model.shift()!);
      }),
      { numRuns: 60 },
    );
  });
});
