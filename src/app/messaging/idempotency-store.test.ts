import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../governance/fake-clock.ts';
import { type IdempotencyClaim, MemoryIdempotencyStore } from './idempotency-store.ts';

function token(claim: IdempotencyClaim): string {
  assert.equal(claim.state, 'claimed');
  return claim.token;
}

describe('MemoryIdempotencyStore', () => {
  it('lets one delivery run a key; duplicates wait while it runs and skip once it is done', async () => {
    const store = new MemoryIdempotencyStore();
    const t = token(await store.claim('k', 1000));
    const duplicate = await store.claim('k', 1000);
    assert.equal(duplicate.state, 'running');
    let woken = false;
    void (duplicate.state === 'running' && duplicate.settled?.then(() => (woken = true)));
    await store.complete('k', t, Uint8Array.of(7));
    await Promise.resolve();
    assert.ok(woken, 'a waiting duplicate is woken');
    assert.deepEqual(await store.claim('k', 1000), { state: 'done', result: Uint8Array.of(7) });
  });

  it('frees a key whose run failed, but only for the claim that holds it', async () => {
    const clock = new FakeClock();
    const store = new MemoryIdempotencyStore({ clock });
    const first = token(await store.claim('k', 100));
    clock.advance(101); // the first claim's lease ran out
    const second = token(await store.claim('k', 100));
    await store.release('k', first);
    assert.equal(
      (await store.claim('k', 100)).state,
      'running',
      'a stale release does not free the new claim',
    );
    await store.release('k', second);
    assert.equal((await store.claim('k', 100)).state, 'claimed');
  });

  it('forgets completed keys after the TTL', async () => {
    const clock = new FakeClock();
    const store = new MemoryIdempotencyStore({ clock, ttlMs: 1000 });
    await store.complete('k', token(await store.claim('k', 100)));
    clock.advance(999);
    assert.equal((await store.claim('k', 100)).state, 'done');
    clock.advance(2);
    assert.equal((await store.claim('k', 100)).state, 'claimed');
  });

  it('keeps at most maxEntries, dropping the least recently used completed keys but no running claim', async () => {
    const store = new MemoryIdempotencyStore({ maxEntries: 3 });
    const running = token(await store.claim('running', 60_000));
    for (const key of ['a', 'b']) await store.complete(key, token(await store.claim(key, 100)));
    assert.equal((await store.claim('a', 100)).state, 'done'); // a is now more recent than b
    await store.complete('c', token(await store.claim('c', 100)));
    assert.equal(store.size, 3);
    assert.equal((await store.claim('running', 100)).state, 'running');
    assert.equal((await store.claim('a', 100)).state, 'done');
    assert.equal((await store.claim('c', 100)).state, 'done');
    assert.equal((await store.claim('b', 100)).state, 'claimed', 'b was dropped');
    await store.release('running', running);
    assert.throws(
      () => new MemoryIdempotencyStore({ maxEntries: 0 }),
      /maxEntries must be a positive number/,
    );
  });
});
