/**
 * What the broker leaves in Redis and takes from it, against a private redis-server: entries
 * other producers add, the dedupe keys, trimming (reported, never silent), key names.
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
const text = (d: Delivery | Uint8Array) => Buffer.from('payload' in d ? d.payload : d).toString();

describe('redis broker streams', { skip }, () => {
  let server: RedisServer;
  let raw: Redis;
  let broker: RedisBroker;
  const errors: Error[] = [];
  before(async () => {
    server = await RedisServer.start();
    raw = new Redis(server.url);
    broker = await RedisBroker.connect({
      url: server.url,
      claimIntervalMs: 50,
      dedupeWindowMs: 5000,
      onError: (e) => void errors.push(e),
    });
  });
  after(async () => {
    await broker.close();
    raw.disconnect();
    await server.stop();
  });

  it('delivers entries other producers add, with defaults, and keeps going', {
    timeout: 10_000,
  }, async () => {
    const seen: Delivery[] = [];
    const sub = await broker.subscribe('foreign', (d) => void seen.push(d), { group: 'g' });
    const ids = [
      await raw.xadd('sb:{foreign}', '*', 'payload', '{"x":1}', 'traceparent', '00-abc'),
      await raw.xadd('sb:{foreign}', '*', 'name', 'John', 'age', '30'),
      await raw.xadd('sb:{foreign}', '*', 'i', '', 'h', '{not json', 'p', Buffer.from([0xff, 0])),
    ];
    const { id } = await broker.publish('foreign', { payload: bytes('ours') });
    await waitFor(() => seen.length === 4, 5000);
    assert.deepEqual(
      seen.map((d) => [d.id, d.key, { ...d.headers }]),
      [
        [`foreign/${ids[0]}`, undefined, { traceparent: '00-abc' }],
        [`foreign/${ids[1]}`, undefined, { age: '30' }],
        [`foreign/${ids[2]}`, undefined, {}],
        [id, undefined, {}],
      ],
    );
    assert.equal(text(seen[0]!), '{"x":1}');
    assert.equal(text(seen[1]!), 'John');
    assert.deepEqual([...seen[2]!.payload], [0xff, 0]);
    assert.deepEqual(await raw.xpending('sb:{foreign}', 'g'), [0, null, null, null], 'all acked');
    await sub.close();
  });

  it('remembers a message id for the dedupe window, with the first position', async () => {
    const first = await broker.publish('dedupe', { id: 'order-1', payload: bytes('a') });
    const second = await broker.publish('dedupe', { id: 'order-1', payload: bytes('b') });
    assert.deepEqual([first.duplicate, second.duplicate], [false, true]);
    assert.equal(second.position, first.position);
    assert.equal(await raw.xlen('sb:{dedupe}'), 1);
    const ttl = await raw.pttl('sb:{dedupe}:dedupe:order-1');
    assert.ok(ttl > 0 && ttl <= 5000, `ttl ${ttl}`);
    assert.equal(await raw.get('sb:{dedupe}:dedupe:order-1'), first.position);
    const other = await broker.publish('dedupe:x', { id: 'order-1', payload: bytes('c') });
    assert.equal(other.duplicate, false, 'ids are per topic, and topics with colons do not collide');
  });

  it('refuses topic names with braces, which delimit the topic in key names', async () => {
    await assert.rejects(broker.publish('a{b}', { payload: bytes('x') }), TypeError);
    await assert.rejects(
      broker.subscribe('a}', () => {}, { group: 'g' }),
      TypeError,
    );
    await assert.rejects(
      broker.subscribe('a', () => {}, { group: 'g', deadLetterTopic: '{x' }),
      TypeError,
    );
  });

  it('reports unread messages that trimming deleted', { timeout: 15_000 }, async () => {
    const trimming = await RedisBroker.connect({ url: server.url, maxLenApprox: 100 });
    let release: () => void = () => {};
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sub = await broker.subscribe('trimmed', () => hung, { group: 'g', maxInFlight: 1 });
    for (let i = 0; i < 400; i++) await trimming.publish('trimmed', { payload: bytes(String(i)) });
    assert.ok((await raw.xlen('sb:{trimmed}')) < 400, 'the stream was trimmed');
    await waitFor(() => errors.some((e) => /unread message\(s\) of topic "trimmed"/.test(e.message)), 5000);
    release();
    await sub.close();
    await trimming.close();
  });

  it('leaves no consumer behind when a subscription closes', async () => {
    const sub = await broker.subscribe('leave', () => {}, { group: 'g' });
    await broker.publish('leave', { payload: bytes('x') });
    await sleep(100);
    await sub.close();
    assert.deepEqual(await raw.xinfo('CONSUMERS', 'sb:{leave}', 'g'), []);
  });
});
