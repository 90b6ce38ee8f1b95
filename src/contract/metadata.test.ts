import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata } from './metadata.ts';

describe('Metadata', () => {
  it('folds keys to lower case and keeps every value', () => {
    const md = new Metadata({ 'X-Trace': 'a' }).add('x-trace', 'b');
    assert.deepEqual(md.getAll('X-TRACE'), ['a', 'b']);
    assert.equal(md.get('x-trace'), 'a');
    assert.deepEqual(
      [...md],
      [
        ['x-trace', 'a'],
        ['x-trace', 'b'],
      ],
    );
  });

  it('requires bytes for -bin keys and strings for the others', () => {
    assert.throws(() => new Metadata().set('x-bin', 'text'), /binary value/);
    assert.throws(() => new Metadata().set('x', new Uint8Array(1)), /string value/);
    assert.equal(new Metadata().set('x-bin', Buffer.from('hi')).getString('x-bin'), 'hi');
  });

  it('refuses keys outside the gRPC alphabet', () => {
    for (const key of ['', 'a b', 'ключ', 'x:y'])
      assert.throws(() => new Metadata().set(key, 'v'), /invalid metadata key/);
  });

  it('clones deeply enough that the copy can change alone', () => {
    const a = new Metadata({ k: ['1', '2'] });
    const b = a.clone().add('k', '3');
    assert.deepEqual(a.getAll('k'), ['1', '2']);
    assert.deepEqual(b.getAll('k'), ['1', '2', '3']);
    assert.deepEqual(b.toJSON(), { k: ['1', '2', '3'] });
  });
});
