import assert from 'node:assert/strict';
import { it } from 'node:test';
import { headers, MsgHdrsImpl } from '@nats-io/transport-node';
import type { OutgoingMessage } from '../broker.ts';
import { assertNatsCarries, fromNatsHeaders, toNatsHeaders } from './headers.ts';

const payload = new Uint8Array();

it('puts the key in Switchboard-Key and the headers under their names, and reads them back', () => {
  const message = { key: 'k 1', headers: { 'x-app': 'a', empty: '', 'X-Case': 'héllo ✓' }, payload };
  const wire = MsgHdrsImpl.decode((toNatsHeaders(message) as MsgHdrsImpl).encode());
  assert.deepEqual(fromNatsHeaders(wire), {
    id: undefined,
    key: 'k 1',
    headers: { 'x-app': 'a', empty: '', 'X-Case': 'héllo ✓' },
  });
});

it('reads the id from Switchboard-Id, else Nats-Msg-Id, and hides reserved headers', () => {
  const h = headers();
  h.set('Nats-Msg-Id', 'per-group');
  h.set('Switchboard-Id', 'original');
  h.set('Nats-Expected-Stream', 'x');
  h.set('Switchboard-Other', 'y');
  assert.deepEqual(fromNatsHeaders(h), { id: 'original', key: undefined, headers: {} });
  const only = headers();
  only.set('Nats-Msg-Id', 'm-1');
  assert.equal(fromNatsHeaders(only).id, 'm-1');
  assert.deepEqual(fromNatsHeaders(undefined), { id: undefined, key: undefined, headers: {} });
});

it('refuses what NATS headers cannot carry, with a TypeError', () => {
  const bad: OutgoingMessage[] = [
    { id: 'a\r\nNats-Rollup: all', payload },
    { id: ' padded', payload },
    { key: 'trailing ', payload },
    { key: 'two\nlines', payload },
    { headers: { 'Nats-Expected-Stream': 'other' }, payload },
    { headers: { 'nats-msg-id': 'x' }, payload },
    { headers: { 'switchboard-key': 'x' }, payload },
    { headers: { 'with space': 'x' }, payload },
    { headers: { 'colon:': 'x' }, payload },
    { headers: { ünï: 'x' }, payload },
    { headers: { ok: 'line\rbreak' }, payload },
  ];
  for (const [i, message] of bad.entries())
    assert.throws(() => assertNatsCarries(message), TypeError, `case ${i}`);
  assert.doesNotThrow(() =>
    assertNatsCarries({ id: 'a b', key: '', headers: { 'x-ok': 'in ner' }, payload }),
  );
});
