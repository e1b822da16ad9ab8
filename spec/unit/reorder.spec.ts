import { expect } from 'chai';
import fc from 'fast-check';
import { absent, Reorder } from '../../lib/stream/reorder';

describe('Reorder (results held until their turn)', () => {
  it('gives back every held value in position order, whatever the arrival order and span', () => {
    fc.assert(
      fc.property(
        // Positions may start anywhere (a long stream), values include undefined and null.
        fc.nat({ max: 2 ** 40 }),
        fc.array(fc.oneof(fc.integer(), fc.constant(undefined), fc.constant(null)), { maxLength: 600, size: 'max' }),
        fc.infiniteStream(fc.nat()),
        (start, values, picks) => {
          const reorder = new Reorder();
          const emitted: unknown[] = [];
          let next = start;
          const arrive = values.map((_, i) => start + i);
          const pick = picks[Symbol.iterator]();
          while (arrive.length > 0) {
            const at = arrive.splice(pick.next().value % arrive.length, 1)[0]!;
            const value = values[at - start];
            if (at !== next) {
              reorder.set(at, value, next);
              continue;
            }
            emitted.push(value);
            next++;
            for (let held = reorder.take(next); held !== absent; held = reorder.take(next)) {
              emitted.push(held);
              next++;
            }
          }
          expect(emitted).to.deep.equal(values);
          expect(reorder.take(next)).to.equal(absent);
          // Given back empty: the next run may reuse its ring (the next case checks it holds nothing).
          reorder.clear();
        },
      ),
    );
  });

  it("holds none of an earlier stream's values in a ring that stream gave back", () => {
    for (const [span, left] of [
      [5_000, 0],
      [5_000, 3],
      [40_000, 0],
    ] as const) {
      const first = new Reorder();
      // Positions 1 … span arrive before 0; all but `left` of them are then taken in order.
      for (let at = 1; at <= span; at++) first.set(at, `first ${at}`, 0);
      for (let at = 1; at <= span - left; at++) expect(first.take(at)).to.equal(`first ${at}`);
      first.clear();
      const second = new Reorder();
      for (let at = 1; at <= span; at += 2) second.set(at, `second ${at}`, 0);
      for (let at = 1; at <= span; at++) expect(second.take(at)).to.equal(at % 2 === 1 ? `second ${at}` : absent);
      second.clear();
    }
  });

  it('holds nothing once cleared', () => {
    const reorder = new Reorder();
    for (let at = 1; at < 500; at++) reorder.set(at, at, 0);
    reorder.clear();
    for (let at = 0; at < 500; at++) expect(reorder.take(at)).to.equal(absent);
  });
});
