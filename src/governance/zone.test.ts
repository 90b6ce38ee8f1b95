import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { preferZone } from './zone.ts';

const pool = [{ key: 'a1', zone: 'a' }, { key: 'a2', zone: 'a' }, { key: 'b1', zone: 'b' }, { key: 'x' }];

describe('preferZone', () => {
  it('keeps calls in the local zone when it has candidates', () => {
    assert.deepEqual(
      preferZone(pool, 'a').map((c) => c.key),
      ['a1', 'a2'],
    );
    assert.deepEqual(
      preferZone(pool, 'b').map((c) => c.key),
      ['b1'],
    );
  });

  it('spills over to all when the zone has fewer than minLocal', () => {
    assert.equal(preferZone(pool, 'b', { minLocal: 2 }), pool);
    assert.deepEqual(
      preferZone(pool, 'a', { minLocal: 2 }).map((c) => c.key),
      ['a1', 'a2'],
    );
    assert.equal(preferZone(pool, 'c'), pool);
  });

  it('returns all without a zone, and never an empty subset', () => {
    assert.equal(preferZone(pool, undefined), pool);
    assert.equal(preferZone(pool, 'c', { minLocal: 0 }), pool);
    assert.deepEqual(preferZone([], 'a'), []);
  });
});
