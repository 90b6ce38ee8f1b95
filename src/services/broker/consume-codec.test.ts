import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageType } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { BROKER_SERVICE_NAME, brokerContract, brokerService } from './contract.ts';

const protobuf = brokerContract().service(BROKER_SERVICE_NAME).method('Consume')!;
const fast = brokerService().method('Consume')!;

/** What a message means, whoever decoded it: its ProtoJSON through protobufjs. */
function meaning(type: MessageType, message: Record<string, unknown>): unknown {
  return type.toJson(message);
}

const deliveries = [
  { handle: 1, topic: 'orders', id: 'a1', headers: {}, payload: Buffer.from('hello'), attempt: 1 },
  {
    handle: 0xffff_ffff,
    topic: 'zamówienia',
    id: 'ü'.repeat(70),
    key: '',
    headers: { a: 'b', ключ: 'значение', empty: '', __proto__x: 'y' },
    payload: new Uint8Array(300).fill(7),
    attempt: 300,
  },
  { handle: 5, topic: 'orders', id: '', key: 'k', payload: new Uint8Array(0), attempt: 0 },
];

describe('Consume codecs', () => {
  it('encode deliveries that protobufjs decodes to the same message, and decode what protobufjs writes', () => {
    const response = { subscribed: true, deliveries };
    const ours = fast.output.encode(response);
    const theirs = protobuf.output.encode(response);
    const expected = meaning(protobuf.output, protobuf.output.decode(theirs));
    assert.deepEqual(meaning(protobuf.output, protobuf.output.decode(ours)), expected);
    assert.deepEqual(meaning(protobuf.output, fast.output.decode(theirs)), expected);
    assert.deepEqual(meaning(protobuf.output, fast.output.decode(ours)), expected);
  });

  it('decode a delivery as HubSubscription reads it: payload bytes, key absent or set, headers', () => {
    const decoded = fast.output.decode(fast.output.encode({ deliveries })) as {
      subscribed: boolean;
      deliveries: Record<string, unknown>[];
    };
    assert.equal(decoded.subscribed, false);
    const [first, second, third] = decoded.deliveries;
    assert.equal(typeof first!.key === 'string', false);
    assert.equal(second!.key, '');
    assert.equal(third!.key, 'k');
    assert.deepEqual({ ...(second!.headers as object) }, deliveries[1]!.headers);
    assert.deepEqual([...(second!.payload as Uint8Array)], [...deliveries[1]!.payload]);
    assert.equal(first!.handle, 1);
    assert.equal(second!.handle, 0xffff_ffff);
    assert.equal(second!.attempt, 300);
  });

  it('keep a header named __proto__ a header', () => {
    const wire = protobuf.output.encode({ deliveries: [{ handle: 1, headers: { ['__proto__']: 'x' } }] });
    const decoded = fast.output.decode(wire) as { deliveries: { headers: Record<string, string> }[] };
    const headers = decoded.deliveries[0]!.headers;
    assert.equal(Object.getPrototypeOf(headers), Object.prototype);
    assert.deepEqual(Object.entries(headers), [['__proto__', 'x']]);
  });

  it('encode settles exactly as protobufjs does, and decode them the same', () => {
    const request = {
      settles: [
        { handle: 1, outcome: 1 },
        { handle: 300_000, outcome: 2, delayMs: 1_234_567 },
        { handle: 2, outcome: 4, reason: 'bööm' },
      ],
    };
    const ours = fast.input.encode(request);
    assert.deepEqual(Buffer.from(ours), Buffer.from(protobuf.input.encode(request)));
    assert.deepEqual(
      meaning(protobuf.input, fast.input.decode(ours)),
      meaning(protobuf.input, protobuf.input.decode(ours)),
    );
  });

  it('leave a subscribe, unknown fields and odd values to protobufjs', () => {
    const subscribe = { subscribe: { topic: 't', group: 'g', maxInFlight: 3, startAt: 'earliest' } };
    assert.deepEqual(
      meaning(protobuf.input, fast.input.decode(fast.input.encode(subscribe))),
      meaning(protobuf.input, subscribe),
    );
    // Field 9 is unknown: skipped, as protobufjs does.
    const unknown = Buffer.from([0x12, 0x02, 0x08, 0x07, 0x48, 0x01]);
    assert.deepEqual(
      meaning(protobuf.input, fast.input.decode(unknown)),
      meaning(protobuf.input, protobuf.input.decode(unknown)),
    );
    // A payload given as a string is protobufjs's to judge (base64), and a wrong type still fails.
    const odd = { deliveries: [{ handle: 1, payload: 'aGk=' }] };
    assert.deepEqual(Buffer.from(fast.output.encode(odd)), Buffer.from(protobuf.output.encode(odd)));
    assert.throws(
      () => fast.output.encode({ deliveries: [{ handle: 'one' }] }),
      (err: unknown) => err instanceof StatusError && err.code === Status.INTERNAL,
    );
  });

  it('refuse malformed bytes as protobufjs does', () => {
    const malformed = [
      Buffer.from([0x12, 0x05, 0x08]),
      Buffer.from([0xff]),
      Buffer.from([0x12, 0x02, 0x08, 0xff]),
      Buffer.from([0x12, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ];
    for (const [type, reference] of [
      [fast.input, protobuf.input],
      [fast.output, protobuf.output],
    ] as const) {
      for (const bytes of malformed) {
        let expected: unknown;
        try {
          reference.decode(bytes);
        } catch (err) {
          expected = err;
        }
        assert.ok(expected instanceof StatusError, `protobufjs refuses ${bytes.toString('hex')}`);
        assert.throws(
          () => type.decode(bytes),
          (err: unknown) => err instanceof StatusError && err.message === (expected as StatusError).message,
        );
      }
    }
  });
});
