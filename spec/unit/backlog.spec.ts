import { expect } from 'chai';
import fc from 'fast-check';
import { Backlog } from '../../lib/engine/backlog';
import type { ClockReading } from '../../lib/util/clock';

type Entry = [input: unknown, transfer: ArrayBuffer[] | undefined, time: ClockReading, tag: number];

describe('Backlog (a stream’s waiting values)', () => {
  it('takes values first in, first out, with their transfer lists, times and tags, across chunks and reuse', () => {
    const operation = fc.oneof(
      { arbitrary: fc.record({ push: fc.integer({ min: 1, max: 5000 }), transfer: fc.boolean() }), weight: 3 },
      { arbitrary: fc.record({ take: fc.integer({ min: 1, max: 5000 }) }), weight: 3 },
      { arbitrary: fc.constant({ clear: true }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 30 }), (operations) => {
        const backlog = new Backlog();
        const model: Entry[] = [];
        let tag = 0;
        const take = () => backlog.take((...entry) => entry as Entry);
        for (const op of operations) {
          if ('push' in op) {
            for (let i = 0; i < op.push; i++, tag++) {
              const entry: Entry = [
                { tag },
                op.transfer && tag % 3 === 0 ? [new ArrayBuffer(1)] : undefined,
                { at: tag },
                tag,
              ];
              backlog.push(...entry);
              model.push(entry);
            }
          } else if ('take' in op) {
            for (let i = 0; i < op.take && model.length > 0; i++) expect(take()).to.deep.equal(model.shift());
          } else {
            backlog.clear();
            model.length = 0;
          }
          expect(backlog.length).to.equal(model.length);
        }
        while (model.length > 0) expect(take()).to.deep.equal(model.shift());
      }),
      { numRuns: 60 },
    );
  });
});
