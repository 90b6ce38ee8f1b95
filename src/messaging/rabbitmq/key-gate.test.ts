import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KeyGate } from './key-gate.ts';

const item = (id: string, key?: string) => ({ id, key });

it('runs one item per key at a time, the held ones in arrival order', () => {
  const gate = new KeyGate<{ id: string; key: string | undefined }>();
  assert.equal(gate.admit(item('1', 'a')), true);
  assert.equal(gate.admit(item('2', 'a')), false);
  assert.equal(gate.admit(item('3', 'b')), true);
  assert.equal(gate.admit(item('4', 'a')), false);
  assert.equal(gate.admit(item('5')), true, 'no key, no wait');
  assert.equal(gate.release('a')?.id, '2');
  assert.equal(gate.release('a')?.id, '4');
  assert.equal(gate.release('a'), undefined);
  assert.equal(gate.admit(item('6', 'a')), true, 'the key is free again');
});

it('keeps a key closed until its requeued item returns', () => {
  const gate = new KeyGate<{ id: string; key: string | undefined }>();
  gate.admit(item('1', 'a'));
  gate.admit(item('2', 'a'));
  assert.equal(gate.release('a', '1'), undefined, 'waits for 1');
  assert.equal(gate.admit(item('3', 'a')), false);
  assert.equal(gate.admit(item('1', 'a')), true, '1 is back and runs first');
  assert.equal(gate.release('a')?.id, '2');
  assert.equal(gate.release('a')?.id, '3');
});

it('gives up waiting for an item that does not return', () => {
  const gate = new KeyGate<{ id: string; key: string | undefined }>();
  gate.admit(item('1', 'a'));
  gate.admit(item('2', 'a'));
  gate.release('a', '1');
  assert.equal(gate.giveUp('a', 'other'), undefined, 'not what it waits for');
  assert.equal(gate.giveUp('a', '1')?.id, '2');
  gate.clear();
  assert.equal(gate.admit(item('3', 'a')), true);
});
