/**
 * Delivery within a group: order per key across members and retries; nack(delayMs) waits in
 * the broker and holds only its own key; ack timeouts; backoff; maxInFlight.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { DeliveryHandler } from '../broker.ts';
import { useTempDir } from '../log/testdata/temp-dir.ts';
import { LogBroker } from './log-broker.ts';
import type { LogBrokerOptions } from './options.ts';
import { retryDelay, settleOptions } from './options.ts';
import { Queue } from './queue.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (payload: Uint8Array) => Buffer.from(payload).toString();

describe('embedded broker: delivery', () => {
  const tmp = useTempDir('embedded-delivery');

  async function open(options: LogBrokerOptions = {}): Promise<LogBroker> {
    const broker = await LogBroker.open(tmp.path, { drainTimeoutMs: 50, ...options });
    tmp.closers.push(() => broker.close());
    return broker;
  }

  it('keeps each key in publish order across three members, nacks and throws', {
    timeout: 20_000,
  }, async () => {
    const broker = await open({ retryBackoffMs: 5, partitions: 3 });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const perKey = 40;
    const done = new Map<string, number[]>(keys.map((k) => [k, []]));
    const busy = new Set<string>();
    const overlaps: string[] = [];
    const byMember = [0, 0, 0];
    const member =
      (index: number): DeliveryHandler =>
      async (d) => {
        const key = d.key!;
        if (busy.has(key)) overlaps.push(`${key}:${Buffer.from(d.payload)}`);
        busy.add(key);
        await sleep(Math.random() * 3);
        // No longer busy once settled: a nack lets the next delivery of the key start at once.
        busy.delete(key);
        const n = Number(Buffer.from(d.payload).toString());
        if (d.attempt === 1 && n % 7 === 3) return d.nack(n % 2 === 0 ? 0 : 20);
        if (d.attempt === 1 && n % 11 === 5) throw new Error('transient');
        done.get(key)!.push(n);
        byMember[index]!++;
      };
    await Promise.all([0, 1, 2].map((i) => broker.subscribe('t', member(i), { group: 'g', maxInFlight: 4 })));
    for (let i = 0; i < perKey; i++) {
      await Promise.all(keys.map((key) => broker.publish('t', { key, payload: Buffer.from(String(i)) })));
    }
    await waitFor(() => [...done.values()].every((list) => list.length === perKey), 15_000);
    for (const key of keys) assert.deepEqual(done.get(key), [...Array(perKey).keys()], `order of key ${key}`);
    assert.deepEqual(overlaps, [], 'never two messages of one key in flight at once');
    assert.ok(
      byMember.every((n) => n > 0),
      `every member took a share: ${byMember}`,
    );
  });

  it('redelivers after nack(delayMs); the key waits, other keys go on', { timeout: 10_000 }, async () => {
    const broker = await open();
    const events: { what: string; at: number }[] = [];
    let nackedAt = 0;
    await broker.subscribe(
      't',
      async (d) => {
        events.push({ what: `${text(d.payload)}#${d.attempt}`, at: Date.now() });
        if (text(d.payload) === 'a1' && d.attempt === 1) {
          nackedAt = Date.now();
          await d.nack(300);
        }
      },
      { group: 'g' },
    );
    await broker.publish('t', { key: 'a', payload: bytes('a1') });
    await broker.publish('t', { key: 'a', payload: bytes('a2') });
    await broker.publish('t', { key: 'b', payload: bytes('b1') });
    await waitFor(() => events.length === 4, 5000);
    const order = events.map((e) => e.what);
    assert.deepEqual(
      order.filter((what) => what.startsWith('a')),
      ['a1#1', 'a1#2', 'a2#1'],
    );
    assert.ok(order.indexOf('b1#1') < order.indexOf('a1#2'), `key b did not wait: ${order}`);
    const redelivered = events.find((e) => e.what === 'a1#2')!;
    assert.ok(redelivered.at - nackedAt >= 290, `waited ${redelivered.at - nackedAt} ms`);
  });

  it('redelivers a delivery that outlives ackTimeoutMs and ignores its late ack', {
    timeout: 10_000,
  }, async () => {
    const broker = await open();
    const attempts: number[] = [];
    let late: (() => Promise<void>) | undefined;
    await broker.subscribe(
      't',
      async (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) {
          late = () => d.ack();
          await sleep(150);
        }
      },
      { group: 'g', ackTimeoutMs: 50 },
    );
    await broker.publish('t', { payload: bytes('slow') });
    await waitFor(() => attempts.length >= 2, 3000);
    await late?.();
    await sleep(200);
    assert.deepEqual(attempts, [1, 2]);
  });

  it('backs off exponentially with jitter, within the bound', () => {
    const settings = settleOptions({ retryBackoffMs: 100, maxRetryBackoffMs: 1000 });
    for (let i = 0; i < 50; i++) {
      const first = retryDelay(settings, 1);
      const third = retryDelay(settings, 3);
      const tenth = retryDelay(settings, 10);
      assert.ok(first >= 50 && first <= 100, `attempt 1: ${first}`);
      assert.ok(third >= 200 && third <= 400, `attempt 3: ${third}`);
      assert.ok(tenth >= 500 && tenth <= 1000, `attempt 10: ${tenth}`);
    }
  });

  it('never has more than maxInFlight per member', { timeout: 10_000 }, async () => {
    const broker = await open();
    let running = 0;
    let peak = 0;
    let done = 0;
    await broker.subscribe(
      't',
      async () => {
        peak = Math.max(peak, ++running);
        await sleep(2);
        running--;
        done++;
      },
      { group: 'g', maxInFlight: 5 },
    );
    await Promise.all(Array.from({ length: 200 }, (_, i) => broker.publish('t', { payload: bytes(`${i}`) })));
    await waitFor(() => done === 200, 5000);
    assert.equal(peak, 5);
  });

  it('queues first in, first out across its compactions', () => {
    const queue = new Queue<number>();
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) {
      queue.push(i);
      if (i % 3 === 0) out.push(queue.shift()!);
    }
    while (queue.length > 0) out.push(queue.shift()!);
    assert.deepEqual(out, [...Array(5000).keys()]);
    assert.equal(queue.shift(), undefined);
  });
});
