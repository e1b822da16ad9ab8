import { deserialize, serialize } from 'node:v8';
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeValue, encodeValue } from '../../lib/wire/remote';

describe('remote values on the wire (encodeValue, decodeValue)', () => {
  it('writes a number as v8.serialize would write a double, read back the same by v8.deserialize and by decodeValue', () => {
    fc.assert(
      fc.property(fc.double(), (value) => {
        const bytes = encodeValue(value, 'The input');
        expect(Object.is(deserialize(bytes), value), 'v8.deserialize').to.equal(true);
        expect(Object.is(decodeValue(bytes), value), 'decodeValue').to.equal(true);
      }),
    );
    expect(encodeValue(5.5, 'The input')).to.deep.equal(serialize(5.5));
  });

  it('reads whatever v8.serialize wrote, numbers written as integers included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null)), (value) => {
        expect(Object.is(decodeValue(serialize(value)), value)).to.equal(true);
      }),
    );
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(decodeValue(encodeValue(value, 'The input'))).to.deep.equal(deserialize(serialize(value)));
      }),
    );
  });
});
