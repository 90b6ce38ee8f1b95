/**
 * A short check against the machine's Redis on 6379 (no persistence there): publish, dedupe,
 * consume, dead-letter. Keys live under a prefix of their own and are deleted afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { portOpen, serviceMissing } from '../../../test/support/services.ts';
import { waitFor } from '../../../test/support/wait.ts';
import type { Delivery } from '../broker.ts';
import { RedisBroker } from './broker.ts';

const skip = await serviceMissing('Redis', () => portOpen('127.0.0.1', 6379));
const prefix = `sbtest:${randomUUID().slice(0, 8)}:`;

describe('redis broker on the shared server', { skip }, () => {
  let broker: RedisBroker;
  before(async () => {
    broker = await RedisBroker.connect({ keyPrefix: prefix, persistent: false, claimIntervalMs: 100 });
  });
  after(async () => {
    await broker.close();
    const raw = new Redis();
    const keys = await raw.keys(`${prefix}*`); // a few keys under a prefix of our own
    if (keys.length > 0) await raw.unlink(...keys);
    assert.equal((await raw.keys(`${prefix}*`)).length, 0);
    raw.disconnect();
  });

  it('says what it guarantees', () => {
    assert.equal(broker.kind, 'redis');
    assert.deepEqual(broker.capabilities, {
      orderingPerKey: false,
      persistence: false,
      consumerGroups: true,
      replay: true,
      delayedRedelivery: true,
      dedupe: true,
    });
  });

  it('publishes once per id, delivers, and dead-letters a terminated message', {
    timeout: 10_000,
  }, async () => {
    const seen: Delivery[] = [];
    const letters: Delivery[] = [];
    const dlq = await broker.subscribe('sanity.dlq', (d) => void letters.push(d), { group: 'd' });
    const sub = await broker.subscribe(
      'sanity',
      (d) => {
        seen.push(d);
        return d.key === 'bad' ? d.term('rejected') : undefined;
      },
      { group: 'g' },
    );
    const payload = new TextEncoder().encode('hello');
    assert.equal((await broker.publish('sanity', { id: 'one', payload })).duplicate, false);
    assert.equal((await broker.publish('sanity', { id: 'one', payload })).duplicate, true);
    await broker.publish('sanity', { key: 'bad', payload });
    await waitFor(() => seen.length === 2 && letters.length === 1, 5000);
    assert.equal(seen[0]!.id, 'one');
    assert.equal(Buffer.from(seen[0]!.payload).toString(), 'hello');
    assert.equal(letters[0]!.headers['x-death-reason'], 'rejected');
    assert.equal(letters[0]!.key, 'bad');
    await Promise.all([sub.close(), dlq.close()]);
  });
});
