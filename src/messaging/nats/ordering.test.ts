/**
 * Order per key within one member (capabilities.orderingPerKey is false because it does not
 * hold across the members of a group): the suite's order case run against one subscription,
 * a nack that keeps its key, and waiting messages kept alive past their ack wait.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NatsServer, natsServerInstalled } from '../../../test/support/nats-server.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { Delivery } from '../broker.ts';
import { NatsBroker } from './broker.ts';

const text = (d: Delivery) => Buffer.from(d.payload).toString();
const bytes = (s: string) => new TextEncoder().encode(s);

describe('NatsBroker order per key within a member', {
  skip: await serviceMissing('nats-server', natsServerInstalled),
}, () => {
  let server: NatsServer;
  let broker: NatsBroker;
  before(async () => {
    server = await NatsServer.start();
    broker = await NatsBroker.connect({ servers: server.url, retryBackoffMs: 20 });
  });
  after(async () => {
    await broker?.close();
    await server?.stop();
  });

  it('handles each key in publish order, keys interleaved, handlers concurrent', {
    timeout: 20_000,
  }, async () => {
    const keys = ['a', 'b', 'c', 'd'];
    for (let i = 0; i < 40; i++) {
      for (const key of keys) await broker.publish('order', { key, payload: bytes(`${key}:${i}`) });
    }
    // Subscribing after publishing hands the member full batches: handlers overlap the most.
    const done: string[] = [];
    let running = 0;
    let peak = 0;
    const sub = await broker.subscribe(
      'order',
      async (d) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(Math.random() * 3);
        done.push(text(d));
        running--;
      },
      { group: 'g', maxInFlight: 8, startAt: 'earliest' },
    );
    await waitFor(() => done.length >= 160, 15_000);
    for (const key of keys) {
      const order = done.filter((p) => p.startsWith(`${key}:`)).map((p) => Number(p.slice(2)));
      assert.deepEqual(order, [...Array(40).keys()], `order of key ${key}`);
    }
    assert.ok(peak >= 2, `keys ran concurrently (peak ${peak})`);
    await sub.close();
  });

  it('redelivers a nacked message before the later messages of its key, others go on', {
    timeout: 10_000,
  }, async () => {
    const log: string[] = [];
    const sub = await broker.subscribe(
      'nack-order',
      async (d) => {
        log.push(`${text(d)}#${d.attempt}`);
        if (text(d) === 'a0' && d.attempt === 1) await d.nack(300);
      },
      { group: 'g' },
    );
    for (const p of ['a0', 'a1', 'b0', 'a2', 'b1']) {
      await broker.publish('nack-order', { key: p[0], payload: bytes(p) });
    }
    await waitFor(() => log.length >= 6, 8000);
    assert.deepEqual(
      log.filter((e) => e.startsWith('a')),
      ['a0#1', 'a0#2', 'a1#1', 'a2#1'],
    );
    // b did not wait for a's redelivery.
    assert.ok(log.indexOf('b1#1') < log.indexOf('a0#2'), log.join(' '));
    await sub.close();
  });

  it('keeps a message waiting for its key alive beyond its ack wait', { timeout: 10_000 }, async () => {
    const log: string[] = [];
    const sub = await broker.subscribe(
      'held',
      async (d) => {
        log.push(`${text(d)}#${d.attempt}`);
        await sleep(250);
      },
      { group: 'g', ackTimeoutMs: 400 },
    );
    // k2 waits ~500 ms for k0 and k1: longer than its ack wait.
    for (const p of ['k0', 'k1', 'k2']) await broker.publish('held', { key: 'k', payload: bytes(p) });
    await waitFor(() => log.length >= 3, 5000);
    await sleep(500);
    assert.deepEqual(log, ['k0#1', 'k1#1', 'k2#1']);
    await sub.close();
  });
});
