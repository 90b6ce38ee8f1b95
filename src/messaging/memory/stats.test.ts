import assert from 'node:assert/strict';
import { it } from 'node:test';
import { waitFor } from '../../../test/support/wait.ts';
import type { BrokerStats } from '../broker.ts';
import { MemoryBroker } from './broker.ts';

function group(stats: BrokerStats, topic: string, name: string) {
  return stats.topics.find((t) => t.name === topic)?.groups.find((g) => g.name === name);
}

it('stats(): published per topic, lag and dead letters per group', async () => {
  const broker = new MemoryBroker({ retryBackoffMs: 1 });
  const release: (() => void)[] = [];
  // Group "slow" holds its deliveries until released; "poison" fails every one.
  const slow = await broker.subscribe('orders', () => new Promise<void>((resolve) => release.push(resolve)), {
    group: 'slow',
    startAt: 'earliest',
  });
  const poison = await broker.subscribe(
    'orders',
    () => {
      throw new Error('cannot');
    },
    { group: 'poison', maxAttempts: 2 },
  );
  for (let i = 0; i < 3; i++) await broker.publish('orders', { payload: new Uint8Array([i]) });
  await broker.publish('orders', { id: 'dup', payload: new Uint8Array() });
  await broker.publish('orders', { id: 'dup', payload: new Uint8Array() });

  await waitFor(async () => group(await broker.stats(), 'orders', 'poison')?.deadLettered === 4, 3000);
  let stats = await broker.stats();
  const orders = stats.topics.find((t) => t.name === 'orders');
  assert.equal(orders?.published, 4, 'the duplicate is not a message');
  assert.deepEqual(group(stats, 'orders', 'poison'), { name: 'poison', lag: 0, deadLettered: 4 });
  assert.deepEqual(group(stats, 'orders', 'slow'), { name: 'slow', lag: 4, deadLettered: 0 });
  assert.equal(stats.topics.find((t) => t.name === 'orders.dlq')?.published, 4);

  await waitFor(() => release.length === 4, 2000);
  for (const done of release.splice(0)) done();
  await waitFor(async () => group(await broker.stats(), 'orders', 'slow')?.lag === 0, 2000);
  stats = await broker.stats();
  assert.equal(group(stats, 'orders', 'slow')?.deadLettered, 0);
  await Promise.all([slow.close(), poison.close()]);
  await broker.close();
});
