import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../../test/support/wait.ts';
import { HubServer } from '../../hub/server.ts';
import type { Broker, Delivery } from '../../messaging/broker.ts';
import { brokerSchemes, openBroker, redacted, serverList } from './open-broker.ts';

/** Publishes one message through `from` and reads it back through `to`, from the beginning. */
async function roundTrip(from: Broker, to: Broker, topic: string): Promise<Delivery> {
  const receipt = await from.publish(topic, {
    key: 'k1',
    headers: { 'content-type': 'text/plain' },
    payload: new TextEncoder().encode('hello'),
  });
  const got: Delivery[] = [];
  const subscription = await to.subscribe(topic, (d) => void got.push(d), {
    group: `g-${topic}`,
    startAt: 'earliest',
  });
  try {
    await waitFor(() => got.length > 0, 5000);
  } finally {
    await subscription.close();
  }
  const delivery = got[0] as Delivery;
  assert.equal(delivery.id, receipt.id);
  return delivery;
}

describe('openBroker', () => {
  let hub: HubServer;
  let httpUrl = '';

  before(async () => {
    hub = new HubServer({ port: 0 });
    httpUrl = `http://127.0.0.1:${(await hub.listen()).port}`;
  });
  after(() => hub.close());

  it("opens a hub's broker from the hub's HTTP URL", async () => {
    const broker = await openBroker(httpUrl);
    try {
      assert.equal(broker.kind, 'hub');
      // The capabilities are the hub's broker's, as it reports them.
      assert.deepEqual(broker.capabilities, hub.broker?.capabilities);
      const delivery = await roundTrip(broker, broker, 'by-http');
      assert.equal(delivery.key, 'k1');
      assert.equal(delivery.headers['content-type'], 'text/plain');
      assert.equal(new TextDecoder().decode(delivery.payload), 'hello');
    } finally {
      await broker.close();
    }
  });

  it("opens a hub's broker port directly with hub://host:port", async () => {
    const target = hub.brokerTarget as string;
    const direct = await openBroker(`hub://${target}`);
    const viaHttp = await openBroker(`${httpUrl}/`);
    try {
      assert.equal(direct.kind, 'hub');
      // Both reach the same broker: what one publishes the other reads.
      await roundTrip(direct, viaHttp, 'by-port');
      await roundTrip(viaHttp, direct, 'by-port-back');
    } finally {
      await direct.close();
      await viaHttp.close();
    }
  });

  it('refuses unknown schemes and non-URLs, naming the supported schemes', async () => {
    const schemes = brokerSchemes();
    for (const scheme of ['http://', 'https://', 'hub://', 'nats://'])
      assert.ok(schemes.includes(scheme), scheme);
    const expected = `expected a URL starting with ${schemes.join(', ')}`;
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    for (const url of ['kafka-ish://h:1', 'ftp://h:21', 'smtp://user:pw@127.0.0.1:25']) {
      await assert.rejects(openBroker(url), (err: Error) => {
        assert.ok(err instanceof TypeError, String(err));
        assert.match(err.message, new RegExp(`unsupported scheme [a-z-]+:// \\(${escaped(expected)}\\)`));
        assert.doesNotMatch(err.message, /pw/, 'a password is never shown');
        return true;
      });
    }
    for (const url of ['127.0.0.1:7070', 'localhost:7070', 'not a url']) {
      await assert.rejects(
        openBroker(url),
        new RegExp(`^TypeError: broker URL "${url}": ${escaped(expected)}$`),
      );
    }
    await assert.rejects(openBroker('hub://h:1/path'), /a hub:\/\/ URL has no path/);
    await assert.rejects(openBroker('hub://'), /broker URL hub:\/\/: expected hub:\/\/host:port/);
    await assert.rejects(openBroker('http://'), /^TypeError: broker URL "http:\/\/" is not a valid URL$/);
    await assert.rejects(openBroker('hub://h:99999'), /broker URL "hub:\/\/h:99999" is not a valid URL/);
    // A prototype key is not a scheme.
    await assert.rejects(openBroker('constructor://h:1'), /unsupported scheme constructor:\/\//);
  });

  it('says where and why when the hub is unreachable or serves no broker', async () => {
    const gone = new HubServer({ port: 0 });
    const goneUrl = `http://127.0.0.1:${(await gone.listen()).port}`;
    const goneTarget = gone.brokerTarget as string;
    await gone.close();
    await assert.rejects(
      openBroker(goneUrl),
      new RegExp(`^Error: cannot reach the broker of the hub at ${goneUrl}: fetch failed$`),
    );
    // The broker port is reached lazily: the first publish says it is not there.
    const direct = await openBroker(`hub://${goneTarget}`, { timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(
      direct.publish('t', { payload: new Uint8Array(1) }),
      new RegExp(`hub broker at ${goneTarget.replace(/\./g, '\\.')} failed: .*ECONNREFUSED`),
    );
    assert.ok(Date.now() - started < 3000, 'the timeout bounds the wait');
    await direct.close();

    const bare = new HubServer({ port: 0, broker: false });
    const bareUrl = `http://127.0.0.1:${(await bare.listen()).port}`;
    try {
      await assert.rejects(openBroker(bareUrl), /the hub at .* it serves no broker/);
    } finally {
      await bare.close();
    }
  });

  it('hides passwords in URLs shown in messages', () => {
    assert.equal(redacted('amqp://guest:secret@127.0.0.1:5672'), 'amqp://guest:***@127.0.0.1:5672');
    assert.equal(redacted('amqp://guest:secret@h/vhost'), 'amqp://guest:***@h/vhost');
    assert.equal(redacted('http://127.0.0.1:7070'), 'http://127.0.0.1:7070');
    assert.equal(redacted('rediss://:pw@h:6380/0'), 'rediss://:***@h:6380/0');
    assert.equal(redacted('kafka://u:pw@h1:9092,h2:9092'), 'kafka://u:***@h1:9092,h2:9092');
    assert.equal(redacted('nats://token@h:4222'), 'nats://token@h:4222');
    assert.equal(redacted('not a url'), 'not a url');
  });
});

describe('serverList', () => {
  it('splits the several-servers form into one URL per server', () => {
    assert.deepEqual(serverList('nats://a:4222,b:4223'), ['nats://a:4222', 'nats://b:4223']);
    assert.deepEqual(serverList('kafka://h:9092'), ['kafka://h:9092']);
    assert.throws(() => serverList('nats://'), /names no server/);
  });
});
