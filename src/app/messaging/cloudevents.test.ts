import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Status, StatusError } from '../../contract/index.ts';
import type { Delivery } from '../../messaging/index.ts';
import { cloudEventOf } from './cloud-event-json.ts';
import { binaryHeaders, readBinaryAttributes } from './cloudevents.ts';
import { decodeStructured, encodeStructured } from './structured.ts';
import { eventsContract, utf8 } from './testdata/fixtures.ts';

const hello = eventsContract().message('sb.events.Hello');

function delivery(headers: Record<string, string>, payload: Uint8Array): Delivery {
  const settle = async () => {};
  return {
    topic: 't',
    id: 'broker-id',
    key: undefined,
    headers,
    payload,
    attempt: 1,
    ack: settle,
    nack: settle,
    term: settle,
  };
}

function invalid(fn: () => unknown, message: RegExp): void {
  assert.throws(
    fn,
    (err) => err instanceof StatusError && err.code === Status.INVALID_ARGUMENT && message.test(err.message),
  );
}

describe('CloudEvents', () => {
  it('maps attributes to binary-mode headers and back, extensions included', () => {
    const headers = binaryHeaders({
      id: '1',
      source: '/s',
      type: 't',
      subject: 'sub',
      datacontenttype: 'application/json',
      extensions: { traceparent: 'tp', partitionkey: 'p' },
    });
    assert.deepEqual(headers, {
      'ce-specversion': '1.0',
      'ce-id': '1',
      'ce-source': '/s',
      'ce-type': 't',
      'ce-subject': 'sub',
      'content-type': 'application/json',
      'ce-traceparent': 'tp',
      'ce-partitionkey': 'p',
    });
    const back = readBinaryAttributes(headers);
    assert.equal(back?.subject, 'sub');
    assert.equal(back?.datacontenttype, 'application/json');
    assert.deepEqual(back?.extensions, { traceparent: 'tp', partitionkey: 'p' });
    assert.equal(readBinaryAttributes({ 'content-type': 'application/json' }), undefined, 'not a CloudEvent');
    assert.throws(() => binaryHeaders({ id: '', source: '/s', type: 't' }), TypeError);
    assert.throws(
      () => binaryHeaders({ id: '1', source: '/s', type: 't', extensions: { 'Bad-Name': 'x' } }),
      TypeError,
    );
  });

  it('writes and reads structured mode: JSON data in data, bytes in data_base64', () => {
    const attributes = { id: '1', source: '/s', type: 'sb.events.Hello', time: '2024-01-01T00:00:00Z' };
    const json = decodeStructured(
      encodeStructured({ ...attributes, datacontenttype: 'application/json' }, { json: { name: 'a' } }),
    );
    assert.deepEqual(json.data, { json: { name: 'a' } });
    assert.equal(json.attributes.time, attributes.time);
    const bytes = decodeStructured(encodeStructured(attributes, { bytes: Uint8Array.of(1, 2, 255) }));
    assert.deepEqual(bytes.data, { bytes: Uint8Array.of(1, 2, 255) });
    const text = decodeStructured(
      utf8(JSON.stringify({ ...attributes, specversion: '1.0', datacontenttype: 'text/plain', data: 'hé' })),
    );
    assert.deepEqual(text.data, { bytes: utf8('hé') }, 'text data of a non-JSON type is its UTF-8');
  });

  it('refuses malformed structured events with INVALID_ARGUMENT', () => {
    const doc = (extra: Record<string, unknown>) =>
      utf8(JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't', ...extra }));
    invalid(() => decodeStructured(Uint8Array.of(0xff, 0xfe)), /UTF-8 JSON/);
    invalid(() => decodeStructured(utf8('[]')), /batches are not supported/);
    invalid(() => decodeStructured(doc({ id: 7 })), /attribute id/);
    invalid(() => decodeStructured(doc({ subject: 7 })), /subject must be a string/);
    invalid(() => decodeStructured(doc({ data: 1, data_base64: 'AA==' })), /not both/);
    invalid(() => decodeStructured(doc({ data_base64: 'not base64!' })), /not base64/);
    invalid(() => decodeStructured(doc({ specversion: '2.0' })), /specversion "2.0"/);
  });

  it('renders any delivery as one JSON document', () => {
    const binary = delivery(
      {
        'ce-specversion': '1.0',
        'ce-id': 'e1',
        'ce-source': '/s',
        'ce-type': 'sb.events.Hello',
        'content-type': 'application/protobuf',
      },
      hello.encode({ name: 'Ada', count: 3 }),
    );
    assert.deepEqual(cloudEventOf(binary, hello), {
      specversion: '1.0',
      id: 'e1',
      source: '/s',
      type: 'sb.events.Hello',
      datacontenttype: 'application/json',
      data: { name: 'Ada', count: 3 },
    });
    const opaque = cloudEventOf(binary);
    assert.equal(opaque.datacontenttype, 'application/protobuf');
    assert.equal(opaque.data_base64, Buffer.from(hello.encode({ name: 'Ada', count: 3 })).toString('base64'));
    const plain = cloudEventOf(
      delivery({ 'x-switchboard-deadline': '1' }, Uint8Array.of(0x0a, 0x01, 0x78)),
      hello,
    );
    assert.deepEqual(
      [plain.id, plain.source, plain.type, plain.data],
      ['broker-id', 'topic:t', 'sb.events.Hello', { name: 'x' }],
      'a plain message past its deadline is still shown',
    );
  });
});
