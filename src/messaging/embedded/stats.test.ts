/** stats(): published per topic, lag and dead letters per group, from the log and the cursors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../../test/support/wait.ts';
import type { BrokerStats } from '../broker.ts';
import { useTempDir } from '../log/testdata/temp-dir.ts';
import { LogBroker } from './log-broker.ts';

function group(stats: BrokerStats, topic: string, name: string) {
  return stats.topics.find((t) => t.name === topic)?.groups.find((g) => g.name === name);
}

describe('embedded broker: stats', () => {
  const tmp = useTempDir('embedded-stats');

  it('counts published records, each group lag until settled, and dead letters', {
    timeout: 10_000,
  }, async () => {
    const broker = await LogBroker.open(tmp.path, { drainTimeoutMs: 50, retryBackoffMs: 1, partitions: 2 });
    tmp.closers.push(() => broker.close());
    const release: (() => void)[] = [];
    await broker.subscribe('orders', () => new Promise<void>((resolve) => release.push(resolve)), {
      group: 'slow',
    });
    await broker.subscribe(
      'orders',
      () => {
        throw new Error('cannot');
      },
      { group: 'poison', maxAttempts: 2 },
    );
    for (let i = 0; i < 5; i++) {
      await broker.publish('orders', { key: `k${i}`, payload: new Uint8Array([i]) });
    }
    await broker.publish('orders', { id: 'dup', payload: new Uint8Array() });
    await broker.publish('orders', { id: 'dup', payload: new Uint8Array() });

    await waitFor(async () => group(await broker.stats(), 'orders', 'poison')?.deadLettered === 6, 5000);
    let stats = await broker.stats();
    assert.equal(
      stats.topics.find((t) => t.name === 'orders')?.published,
      6,
      'the duplicate is not appended',
    );
    assert.deepEqual(group(stats, 'orders', 'poison'), { name: 'poison', lag: 0, deadLettered: 6 });
    assert.deepEqual(group(stats, 'orders', 'slow'), { name: 'slow', lag: 6, deadLettered: 0 });
    assert.equal(stats.topics.find((t) => t.name === 'orders.dlq')?.published, 6);

    await waitFor(() => release.length === 6, 3000);
    for (const done of release.splice(0)) done();
    await waitFor(async () => group(await broker.stats(), 'orders', 'slow')?.lag === 0, 3000);
    stats = await broker.stats();
    assert.equal(group(stats, 'orders', 'slow')?.deadLettered, 0);
  });
});
