import assert from 'node:assert/strict';
import { it } from 'node:test';
import { consumerName, encodeName, topicNames, validatePrefix } from './naming.ts';

it('keeps letters, digits, "_" and "-", and escapes every other byte as ~XX', () => {
  assert.equal(encodeName('orders_v2-eu'), 'orders_v2-eu');
  assert.equal(encodeName('orders.dlq'), 'orders~2Edlq');
  assert.equal(encodeName('a/b\\c~d'), 'a~2Fb~5Cc~7Ed');
  assert.equal(encodeName('café'), 'caf~C3~A9');
  assert.equal(encodeName('✓'), '~E2~9C~93');
});

it('never gives two names one encoding', () => {
  const names = ['a.b', 'a~2Eb', 'a_b', 'a-b', 'a~b', 'a~7Eb', 'é', '~C3~A9', 'A.B'];
  const encoded = names.map(encodeName);
  assert.equal(new Set(encoded).size, names.length, encoded.join(' '));
});

it('refuses a name with a lone surrogate, which UTF-8 cannot tell apart', () => {
  assert.throws(() => encodeName('a\uD800'), TypeError);
  assert.equal(encodeName('😀'), '~F0~9F~98~80');
});

it('names the stream and subject of a topic after the prefix', () => {
  assert.deepEqual(topicNames('sb', 'orders.created'), {
    stream: 'sb_orders~2Ecreated',
    subject: 'sb.orders~2Ecreated',
  });
});

it('refuses a topic or group whose encoding exceeds 255 characters', () => {
  assert.doesNotThrow(() => topicNames('sb', 'x'.repeat(249)));
  assert.throws(() => topicNames('sb', '.'.repeat(100)), /too long for NATS/);
  assert.throws(() => consumerName('é'.repeat(50)), TypeError);
  assert.equal(consumerName('billing.eu'), 'billing~2Eeu');
});

it('accepts only a plain prefix', () => {
  assert.equal(validatePrefix('test_1-a'), 'test_1-a');
  for (const bad of ['', 'a.b', 'a b', 'a*', 'x'.repeat(33), 7])
    assert.throws(() => validatePrefix(bad), TypeError);
});
