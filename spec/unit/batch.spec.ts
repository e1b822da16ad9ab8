import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { expect } from 'chai';
import { type BatchItems, portTarget, postBatch } from '../../lib/wire/batch';

/** Every message waiting on `port`, in order. */
function received(port: MessagePort): unknown[] {
  const messages: unknown[] = [];
  for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) {
    messages.push(next.message);
  }
  return messages;
}

/** A batch `['batch', 0, ...items]` of items of two elements, whose lone messages start `['one']`. */
function layout(failed: BatchItems['failed'], more: Partial<BatchItems> = {}): BatchItems {
  return { header: 2, stride: 2, alone: ['one'], failed, ...more };
}

describe('postBatch (one message per batch, or item by item if it cannot be cloned)', () => {
  let channel: MessageChannel;
  beforeEach(() => {
    channel = new MessageChannel();
  });
  afterEach(() => {
    channel.port1.close();
    channel.port2.close();
  });

  it('posts a batch that clones as one message, moving every buffer', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const whole = postBatch(
      portTarget(channel.port1),
      ['batch', 0, 1, 'a', 2, bytes],
      [bytes.buffer],
      [undefined, [bytes.buffer]],
      layout(() => expect.fail('no item fails')),
    );
    expect(whole).to.equal(true);
    expect(bytes.byteLength).to.equal(0);
    expect(received(channel.port2)).to.deep.equal([['batch', 0, 1, 'a', 2, new Uint8Array([1, 2, 3])]]);
  });

  it('delivers the other items of a batch with one unclonable item, and reports that one', () => {
    const bytes = new Uint8Array([4, 5]);
    const failures: [number, unknown][] = [];
    const whole = postBatch(
      portTarget(channel.port1),
      ['batch', 0, 1, 'a', 2, () => 'not clonable', 3, bytes],
      [bytes.buffer],
      [undefined, undefined, [bytes.buffer]],
      layout((n, message, error) => {
        failures.push([n, message[2 + n * 2 + 1]]);
        expect((error as Error).name).to.equal('DataCloneError');
        return true;
      }),
    );
    expect(whole).to.equal(false);
    expect(failures.map(([n, value]) => [n, typeof value])).to.deep.equal([[1, 'function']]);
    // The items alone, each moving its own buffers.
    expect(bytes.byteLength).to.equal(0);
    expect(received(channel.port2)).to.deep.equal([
      ['one', 1, 'a'],
      ['one', 3, new Uint8Array([4, 5])],
    ]);
  });

  it('stops at a failed item when told to, and leaves out the items take refuses', () => {
    const calls: string[] = [];
    const whole = postBatch(
      portTarget(channel.port1),
      ['batch', 0, 1, 'a', 2, 'b', 3, Symbol('bad'), 4, 'd'],
      undefined,
      [],
      layout(
        (n) => {
          calls.push(`failed ${n}`);
          return false;
        },
        {
          before: (message) => calls.push(`before ${message.length}`),
          take: (n) => n !== 1,
          sent: (n) => calls.push(`sent ${n}`),
        },
      ),
    );
    expect(whole).to.equal(false);
    expect(calls).to.deep.equal(['before 10', 'sent 0', 'failed 2']);
    expect(received(channel.port2)).to.deep.equal([['one', 1, 'a']]);
  });

  it('sends the items alone without trying the batch when its transfer list is null', () => {
    const posted: unknown[] = [];
    const target = { postMessage: (message: unknown) => posted.push(message) };
    const whole = postBatch(
      target,
      ['batch', 0, 1, 'a', 2, 'b'],
      null,
      [],
      layout(() => true),
    );
    expect(whole).to.equal(false);
    expect(posted).to.deep.equal([
      ['one', 1, 'a'],
      ['one', 2, 'b'],
    ]);
  });
});
