import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIMER_MS } from '../validate.ts';
import { amqpName, delayBucket, Topology } from './topology.ts';

describe('delayBucket', () => {
  it('waits at least the delay, and at most half as long again', () => {
    for (const ms of [1, 10, 11, 99, 100, 101, 400, 1234, 30_000, 86_400_000]) {
      const bucket = delayBucket(ms);
      assert.ok(bucket >= ms, `${ms} → ${bucket}`);
      assert.ok(bucket <= Math.max(10, ms * 1.5), `${ms} → ${bucket}`);
    }
    assert.deepEqual([0.5, 20, 400, 1600, 30_000].map(delayBucket), [10, 20, 400, 2000, 30_000]);
  });

  it('stops at the longest delay', () => {
    assert.equal(delayBucket(MAX_TIMER_MS * 2), MAX_TIMER_MS);
    assert.equal(delayBucket(MAX_TIMER_MS - 5), MAX_TIMER_MS);
  });
});

describe('names', () => {
  const topology = new Topology('p.', 'quorum', true);

  it('keeps names AMQP takes', () => {
    assert.equal(topology.exchange('orders'), 'p.orders');
    assert.equal(topology.groupQueue('orders', 'billing'), 'p.orders>billing');
    assert.equal(topology.delayName(400), 'p.switchboard.delay.400ms');
  });

  it('never gives two topic and group pairs one queue', () => {
    assert.notEqual(topology.groupQueue('a.b', 'c'), topology.groupQueue('a', 'b.c'));
  });

  it('shortens long names to 255 bytes, distinctly', () => {
    const a = amqpName('é'.repeat(300));
    const b = amqpName(`${'é'.repeat(299)}e`);
    assert.ok(Buffer.byteLength(a) <= 255);
    assert.ok(Buffer.byteLength(b) <= 255);
    assert.notEqual(a, b);
    assert.equal(amqpName('short'), 'short');
  });

  it("refuses topics in RabbitMQ's own namespace", () => {
    assert.throws(() => new Topology('', 'quorum', true).exchange('amq.topic'), TypeError);
  });
});
