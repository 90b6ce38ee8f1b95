import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEntry, encodeEntry } from './entry-codec.ts';

/** The field list as Redis returns it: Buffers. */
function asReply(fields: readonly (string | Buffer)[]): Buffer[] {
  return fields.map((f) => (typeof f === 'string' ? Buffer.from(f) : f));
}

const plain = (bytes: Uint8Array) => [...bytes];

describe('redis entry codec', () => {
  it('round-trips id, key, headers and a binary payload', () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    const fields = encodeEntry({ id: 'id-1', key: 'k', headers: { a: 'b', 'x-u': 'héllo ✓' }, payload });
    assert.deepEqual(fields.slice(0, 6), ['i', 'id-1', 'k', 'k', 'h', '{"a":"b","x-u":"héllo ✓"}']);
    const entry = decodeEntry('t', '1-0', asReply(fields));
    assert.equal(entry.id, 'id-1');
    assert.equal(entry.key, 'k');
    assert.deepEqual(entry.headers, { a: 'b', 'x-u': 'héllo ✓' });
    assert.deepEqual(plain(entry.payload), plain(payload));
    assert.equal(Object.getPrototypeOf(entry.payload), Uint8Array.prototype);
  });

  it('leaves out an absent id, key and headers, and keeps an empty key', () => {
    assert.deepEqual(encodeEntry({ payload: new Uint8Array(0) }), ['p', Buffer.alloc(0)]);
    const entry = decodeEntry('t', '1-0', asReply(encodeEntry({ key: '', payload: new Uint8Array(0) })));
    assert.equal(entry.key, '');
    assert.equal(entry.id, 't/1-0', 'no id: the topic and the entry id');
    assert.equal(decodeEntry('t', '1-0', asReply(['i', 'x', 'p', ''])).key, undefined);
  });

  it('encodes a payload view without copying the bytes around it', () => {
    const backing = Uint8Array.from([9, 1, 2, 9]);
    const fields = encodeEntry({ payload: backing.subarray(1, 3) });
    assert.deepEqual([...(fields.at(-1) as Buffer)], [1, 2]);
  });

  it('gives malformed fields their defaults', () => {
    const entry = decodeEntry('t', '5-1', asReply(['i', '', 'h', 'not json', 'p', 'x']));
    assert.equal(entry.id, 't/5-1', 'an empty id falls back to the position');
    assert.deepEqual(entry.headers, {});
    assert.deepEqual(decodeEntry('t', '5-1', asReply(['h', '[1,2]', 'p', 'x'])).headers, {});
    assert.deepEqual(decodeEntry('t', '5-1', asReply(['h', '{"a":1,"b":"c"}', 'p', 'x'])).headers, {
      b: 'c',
    });
    assert.deepEqual(
      plain(decodeEntry('t', '5-1', asReply(['p', 'x', 'p', 'y'])).payload),
      [120],
      'first wins',
    );
    assert.equal(decodeEntry('t', '5-1', asReply(['p', 'x', 'odd'])).id, 't/5-1');
  });

  it('delivers foreign entries: `payload` or the first field, the others as headers', () => {
    const withPayload = decodeEntry('t', '7-0', asReply(['traceparent', 't', 'payload', '{"x":1}']));
    assert.equal(withPayload.id, 't/7-0');
    assert.equal(withPayload.key, undefined);
    assert.equal(Buffer.from(withPayload.payload).toString(), '{"x":1}');
    assert.deepEqual(withPayload.headers, { traceparent: 't' });
    const firstField = decodeEntry('t', '7-1', asReply(['name', 'John', 'age', '30']));
    assert.equal(Buffer.from(firstField.payload).toString(), 'John');
    assert.deepEqual(firstField.headers, { age: '30' });
    assert.equal(decodeEntry('t', '7-2', []).payload.length, 0);
  });
});
