import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { assertNoReservedHeader, fromRecord, ID_HEADER, toRecord, validateTopic } from './envelope.ts';

function record(fields: Partial<KafkaMessage>): KafkaMessage {
  return {
    key: null,
    value: Buffer.from('v'),
    timestamp: '0',
    attributes: 0,
    offset: '42',
    headers: {},
    ...fields,
  } as KafkaMessage;
}

describe('Kafka envelope', () => {
  it('puts the payload as the value and the id in its own header', () => {
    const payload = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
    const r = toRecord('id-1', { key: 'k', headers: { a: 'b' }, payload });
    assert.deepEqual(r.value, Buffer.from([2, 3]));
    assert.equal(r.key, 'k');
    assert.deepEqual(r.headers, { a: 'b', [ID_HEADER]: 'id-1' });
    assert.equal(toRecord('x', { payload }).key, null);
  });

  it('reads the id header back and hides it from the headers', () => {
    const m = fromRecord(
      't',
      2,
      record({ key: Buffer.from('k'), headers: { [ID_HEADER]: Buffer.from('id-9'), a: Buffer.from('b') } }),
    );
    assert.equal(m.id, 'id-9');
    assert.equal(m.key, 'k');
    assert.deepEqual(m.headers, { a: 'b' });
    assert.equal(m.offset, 42);
    assert.equal(m.partition, 2);
  });

  it("names a plain producer's record by its place, and survives odd headers", () => {
    const m = fromRecord(
      't',
      1,
      record({
        value: null,
        headers: {
          twice: [Buffer.from('1'), Buffer.from('2')],
          bad: Buffer.from([0xff, 0xfe]),
          none: undefined,
        },
      }),
    );
    assert.equal(m.id, 't/1/42');
    assert.equal(m.key, undefined);
    assert.deepEqual(m.payload, new Uint8Array(0));
    assert.equal(m.headers.twice, '2', 'the last value of a repeated header');
    assert.equal(m.headers.bad, '\ufffd\ufffd');
    assert.equal('none' in m.headers, false);
  });

  it('copies the payload out of the fetched buffer', () => {
    const fetched = Buffer.from('payload');
    const m = fromRecord('t', 0, record({ value: fetched }));
    fetched[0] = 0;
    assert.equal(Buffer.from(m.payload).toString(), 'payload');
  });

  it('refuses the reserved header and topic names Kafka refuses', () => {
    assert.throws(
      () => assertNoReservedHeader({ headers: { [ID_HEADER]: 'x' }, payload: new Uint8Array() }),
      TypeError,
    );
    for (const bad of ['a/b', 'a:b', 'é', '.', '..', ''])
      assert.throws(() => validateTopic('topic', bad), TypeError, bad);
    assert.equal(validateTopic('topic', 'orders.v1_x-2'), 'orders.v1_x-2');
  });
});
