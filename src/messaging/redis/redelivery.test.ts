/**
 * Redelivery as Redis sees it, against a private redis-server: entries a dead consumer left
 * pending are claimed after ackTimeoutMs and count as deliveries; delayed retries wait in the
 * group's delayed set; a member keeps a key's order through its own retries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisServer, redisServerInstalled } from '../../../test/support/redis-server.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { Delivery } from '../broker.ts';
import { RedisBroker } from './broker.ts';

const skip = await serviceMissing('redis-server', redisServerInstalled);
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (d: Delivery) => Buffer.from(d.payload).toString();

describe('redis broker redelivery', { skip }, () => {
  let server: RedisServer;
  let raw: Redis;
  let broker: RedisBroker;
  before(async () => {
    server = await RedisServer.start();
    raw = new Redis(server.url);
    broker = await RedisBroker.connect({ url: server.url, claimIntervalMs: 50, retryBackoffMs: 20 });
  });
  after(async () => {
    await broker.close();
    raw.disconnect();
    await server.stop();
  });

  /** Takes the next entry of `topic` for a consumer that then dies without acking. */
  async function deadConsumerTakes(topic: string, group: string): Promise<void> {
    await raw.xreadgroup('GROUP', group, 'dead-consumer', 'COUNT', 1, 'STREAMS', `sb:{${topic}}`, '>');
  }

  it('claims what a dead consumer left pending after ackTimeoutMs, as attempt 2', {
    timeout: 10_000,
  }, async () => {
    const seen: [string, number][] = [];
    await (await broker.subscribe('dead', () => {}, { group: 'g', startAt: 'earliest' })).close();
    await broker.publish('dead', { payload: bytes('orphan') });
    await deadConsumerTakes('dead', 'g');
    const started = Date.now();
    const sub = await broker.subscribe('dead', (d) => void seen.push([text(d), d.attempt]), {
      group: 'g',
      ackTimeoutMs: 300,
    });
    await waitFor(() => seen.length === 1, 5000);
    assert.deepEqual(seen, [['orphan', 2]]);
    assert.ok(Date.now() - started >= 250, 'not claimed before it was idle for ackTimeoutMs');
    await sleep(200);
    assert.equal(Number(await raw.xlen('sb:{dead}')), 1);
    assert.deepEqual(await raw.xpending('sb:{dead}', 'g'), [0, null, null, null], 'acked');
    await sub.close();
  });

  it('dead-letters an entry delivered maxAttempts times without being settled', {
    timeout: 10_000,
  }, async () => {
    const letters: Delivery[] = [];
    const handled: string[] = [];
    await (await broker.subscribe('crashes', () => {}, { group: 'g' })).close();
    const { id } = await broker.publish('crashes', { headers: { a: 'b' }, payload: bytes('poison') });
    await deadConsumerTakes('crashes', 'g');
    const [entryId] = (await raw.xrange('sb:{crashes}', '-', '+'))[0]!;
    await raw.xclaim('sb:{crashes}', 'g', 'dead-consumer', 0, entryId, 'RETRYCOUNT', 3);
    const dlq = await broker.subscribe('crashes.dlq', (d) => void letters.push(d), {
      group: 'd',
      startAt: 'earliest',
    });
    const sub = await broker.subscribe('crashes', (d) => void handled.push(d.id), {
      group: 'g',
      ackTimeoutMs: 100,
      maxAttempts: 3,
    });
    await waitFor(() => letters.length === 1, 5000);
    assert.deepEqual(handled, [], 'never handed to the handler again');
    assert.equal(letters[0]!.id, id);
    assert.equal(text(letters[0]!), 'poison');
    assert.equal(letters[0]!.headers.a, 'b');
    assert.equal(letters[0]!.headers['x-death-attempts'], '3');
    assert.equal(letters[0]!.headers['x-death-group'], 'g');
    assert.match(letters[0]!.headers['x-death-reason'] ?? '', /max attempts/);
    await Promise.all([sub.close(), dlq.close()]);
  });

  it('redelivers after its own ack timeout and ignores the late ack', { timeout: 10_000 }, async () => {
    const attempts: number[] = [];
    let late: (() => Promise<void>) | undefined;
    const sub = await broker.subscribe(
      'slow',
      async (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) {
          late = () => d.ack();
          await sleep(400);
        }
      },
      { group: 'g', ackTimeoutMs: 100 },
    );
    await broker.publish('slow', { payload: bytes('x') });
    await waitFor(() => attempts.length >= 2, 5000);
    await late?.();
    await sleep(300);
    assert.deepEqual(attempts, [1, 2]);
    await sub.close();
  });

  it('parks a delayed retry in the delayed set, owned by no member', { timeout: 10_000 }, async () => {
    const attempts: number[] = [];
    const sub = await broker.subscribe(
      'parked',
      (d) => {
        attempts.push(d.attempt);
        return d.attempt === 1 ? d.nack(600) : undefined;
      },
      { group: 'g' },
    );
    await broker.publish('parked', { payload: bytes('x') });
    await waitFor(() => attempts.length === 1, 5000);
    await waitFor(async () => (await raw.zcard('sb:{parked}:delayed:g')) === 1, 2000);
    const pending = (await raw.xpending('sb:{parked}', 'g', '-', '+', 10)) as [string, string][];
    assert.equal(pending[0]?.[1], '~delayed');
    await waitFor(() => attempts.length === 2, 5000);
    assert.equal(await raw.zcard('sb:{parked}:delayed:g'), 0);
    await sub.close();
  });

  it("keeps a key's order within one member, through nack(0) retries", { timeout: 20_000 }, async () => {
    const done: string[] = [];
    const sub = await broker.subscribe(
      'order',
      async (d) => {
        await sleep(Math.random() * 3);
        if (d.attempt === 1 && Math.random() < 0.2) return d.nack();
        done.push(text(d));
      },
      { group: 'g', maxInFlight: 8 },
    );
    const keys = ['a', 'b', 'c', 'd'];
    for (let i = 0; i < 30; i++) {
      await Promise.all(keys.map((key) => broker.publish('order', { key, payload: bytes(`${key}:${i}`) })));
    }
    await waitFor(() => done.length >= 120, 15_000);
    for (const key of keys) {
      const order = done.filter((p) => p.startsWith(`${key}:`)).map((p) => Number(p.slice(2)));
      assert.deepEqual(order, [...Array(30).keys()], `order of key ${key}`);
    }
    await sub.close();
  });
});
