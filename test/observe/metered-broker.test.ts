/**
 * Messaging metrics through a real hub: a MeteredBroker over a HubBroker (native transport to
 * the hub's broker port, an embedded LogBroker on disk); publishes, deliveries by outcome,
 * dead letters, and the group lag read from stats() at scrape time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HubBroker } from '../../src/app/brokers/index.ts';
import { HubServer } from '../../src/hub/server.ts';
import { LogBroker } from '../../src/messaging/embedded/index.ts';
import { MeteredBroker, Metrics } from '../../src/observe/metrics/index.ts';
import { waitFor } from '../support/wait.ts';
import { histogramCount, sample } from './samples.ts';

describe('MeteredBroker over the hub broker', { timeout: 30_000 }, () => {
  let dir: string;
  let hub: HubServer;
  let client: HubBroker;
  const metrics = new Metrics();

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sb-metered-'));
    const inner = await LogBroker.open(dir, { retryBackoffMs: 5, drainTimeoutMs: 100 });
    hub = new HubServer({ port: 0, broker: inner });
    await hub.listen();
    client = await HubBroker.fromHub(hub.url);
  });
  after(async () => {
    await client?.close();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts publishes, deliveries by outcome and dead letters', async () => {
    const broker = new MeteredBroker(client, metrics);
    assert.equal(broker.stats, undefined, 'the hub client keeps no stats, so neither does its wrapper');
    const handled: string[] = [];
    const subscription = await broker.subscribe(
      'orders',
      async (d) => {
        const kind = Buffer.from(d.payload).toString();
        handled.push(`${kind}#${d.attempt}`);
        if (kind === 'term') await d.term('refused');
        else if (kind === 'throw') throw new Error('cannot');
        else if (kind === 'nack' && d.attempt === 1) await d.nack(0);
      },
      { group: 'billing', maxAttempts: 2, startAt: 'earliest' },
    );
    for (const kind of ['ok', 'term', 'throw', 'nack']) {
      await broker.publish('orders', { id: kind, payload: Buffer.from(kind) });
    }
    assert.equal((await broker.publish('orders', { id: 'ok', payload: Buffer.from('ok') })).duplicate, true);
    const consumed = (outcome: string) =>
      sample(metrics, 'switchboard_messages_consumed_total', { topic: 'orders', group: 'billing', outcome });
    await waitFor(async () => (await consumed('ack')) === 2 && (await consumed('error')) === 2, 5000);
    assert.equal(await consumed('term'), 1);
    assert.equal(await consumed('nack'), 1);
    assert.equal(
      await sample(metrics, 'switchboard_dead_letters_total', { topic: 'orders', group: 'billing' }),
      2,
    );
    assert.equal(
      await sample(metrics, 'switchboard_messages_published_total', { topic: 'orders', outcome: 'ok' }),
      4,
    );
    assert.equal(
      await sample(metrics, 'switchboard_messages_published_total', {
        topic: 'orders',
        outcome: 'duplicate',
      }),
      1,
    );
    assert.equal(
      await histogramCount(metrics, 'switchboard_publish_duration_seconds', { topic: 'orders' }),
      5,
    );
    assert.deepEqual(handled.sort(), ['nack#1', 'nack#2', 'ok#1', 'term#1', 'throw#1', 'throw#2']);
    await subscription.close();
  });

  it('reads the lag of a broker with stats() at scrape time', async () => {
    const local = await LogBroker.open(path.join(dir, 'local'), { drainTimeoutMs: 50 });
    const broker = new MeteredBroker(local, metrics);
    const release: (() => void)[] = [];
    const subscription = await broker.subscribe('jobs', () => new Promise<void>((r) => release.push(r)), {
      group: 'workers',
    });
    for (let i = 0; i < 3; i++) await broker.publish('jobs', { payload: Buffer.from([i]) });
    const lag = () => sample(metrics, 'switchboard_consumer_lag', { topic: 'jobs', group: 'workers' });
    assert.equal(await lag(), 3);
    assert.equal(await sample(metrics, 'switchboard_topic_messages', { topic: 'jobs' }), 3);
    assert.match(await metrics.text(), /switchboard_consumer_lag\{topic="jobs",group="workers"\} 3/);
    await waitFor(() => release.length === 3);
    for (const done of release.splice(0)) done();
    await waitFor(async () => (await lag()) === 0);
    await subscription.close();
    await broker.close();
    // Closed: its series are no longer collected.
    assert.equal(await sample(metrics, 'switchboard_topic_messages', { topic: 'jobs' }), 0);
  });
});
