import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsumeMessage, MessageProperties } from 'amqplib';
import { amqpHeaders, assertPublishableHeaders, decodeMessage, headerText, routingKey } from './headers.ts';

function message(
  headers: Record<string, unknown> | undefined,
  extra: { messageId?: unknown; redelivered?: boolean } = {},
): ConsumeMessage {
  return {
    content: Buffer.from('x'),
    fields: {
      deliveryTag: 1,
      redelivered: extra.redelivered ?? false,
      exchange: 'e',
      routingKey: 'r',
      consumerTag: 'c',
    },
    properties: { headers, messageId: extra.messageId } as MessageProperties,
  };
}

describe('decodeMessage', () => {
  it('reads what the adapter wrote', () => {
    const decoded = decodeMessage(
      message(
        { a: 'b', 'x-sb-key': 'k', 'x-sb-attempts': '2', 'x-delivery-count': 1 },
        { messageId: 'id-1' },
      ),
    );
    assert.deepEqual(decoded, { id: 'id-1', key: 'k', headers: { a: 'b' }, attempt: 4 });
  });

  it('gives a foreign message sensible defaults', () => {
    const decoded = decodeMessage(message(undefined));
    assert.match(decoded.id, /^[0-9a-f-]{36}$/);
    assert.equal(decoded.key, undefined);
    assert.deepEqual(decoded.headers, {});
    assert.equal(decoded.attempt, 1);
    assert.notEqual(decodeMessage(message(undefined)).id, decoded.id, 'a fresh id per delivery');
  });

  it('turns foreign header values into text and hides RabbitMQ headers', () => {
    const decoded = decodeMessage(
      message({
        n: 5,
        yes: true,
        bytes: Buffer.from('héllo'),
        table: { x: 1 },
        list: [1, 'a'],
        when: { '!': 'timestamp', value: 1700000000 },
        nothing: null,
        'x-death': [{ count: 1, reason: 'expired' }],
        'x-first-death-reason': 'expired',
        'x-death-reason': 'ours',
        'x-sb-key': 7,
        'x-sb-attempts': 'many',
      }),
    );
    assert.deepEqual(decoded.headers, {
      n: '5',
      yes: 'true',
      bytes: 'héllo',
      table: '{"x":1}',
      list: '[1,"a"]',
      when: '1700000000',
      'x-death-reason': 'ours',
    });
    assert.equal(decoded.key, '7');
    assert.equal(decoded.attempt, 1, 'an unreadable count counts nothing');
  });

  it('counts a classic redelivery once, and caps absurd counts', () => {
    assert.equal(decodeMessage(message({}, { redelivered: true })).attempt, 2);
    assert.equal(decodeMessage(message({ 'x-sb-attempts': '9'.repeat(15) })).attempt, 1_000_001);
  });
});

describe('publishing headers', () => {
  it('refuses the names RabbitMQ and the adapter own', () => {
    for (const name of ['x-death', 'x-delivery-count', 'x-first-death-queue', 'x-sb-key', 'CC', 'BCC']) {
      assert.throws(() => assertPublishableHeaders({ [name]: 'v' }), TypeError, name);
    }
    assert.throws(() => assertPublishableHeaders({ ['h'.repeat(256)]: 'v' }), TypeError);
    assertPublishableHeaders({ 'x-death-reason': 'r', traceparent: 't', cc: 'lower case is fine' });
  });

  it('carries the key in a header, and as routing key when it fits', () => {
    assert.deepEqual(amqpHeaders({ a: 'b' }, 'k'), { a: 'b', 'x-sb-key': 'k' });
    assert.deepEqual(amqpHeaders({ a: 'b' }, undefined), { a: 'b' });
    assert.equal(routingKey('k'), 'k');
    assert.equal(routingKey(undefined), '');
    assert.equal(routingKey('é'.repeat(128)), '', '256 bytes do not fit');
  });

  it('leaves out what cannot be text', () => {
    assert.equal(headerText(undefined), undefined);
    assert.equal(headerText(null), undefined);
    assert.equal(
      headerText(() => 1),
      undefined,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(headerText(cyclic), undefined);
    assert.equal(headerText(10n), '10');
  });
});
