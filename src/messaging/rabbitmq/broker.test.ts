/**
 * The RabbitMQ adapter against the machine's RabbitMQ: the conformance suite (with a restart of
 * the server), what is particular to RabbitMQ, and network trouble through a TCP proxy. One file,
 * so that nothing else of ours uses RabbitMQ while the suite restarts it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'amqplib';
import { brokerConformance } from '../../../test/conformance/broker-suite.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { Delivery } from '../broker.ts';
import { RabbitBroker } from './broker.ts';
import { RabbitUnavailableError } from './connection.ts';
import type { RabbitBrokerOptions } from './options.ts';
import {
  deleteTopology,
  RABBIT_URL,
  rabbitMissing,
  rabbitmqctlWorks,
  restartRabbit,
  runPrefix,
} from './testdata/rabbit-fixture.ts';

const skip = await rabbitMissing();
const prefix = runPrefix();
const haveRabbitmqctl = !skip && (await rabbitmqctlWorks());
const fast = { namePrefix: prefix, drainTimeoutMs: 300, retryBackoffMs: 20 };
const bounded = { timeout: 15_000 };

after(async () => {
  if (haveRabbitmqctl) await deleteTopology(prefix);
});

brokerConformance({
  name: 'rabbitmq',
  skip,
  capabilities: {
    orderingPerKey: true,
    persistence: true,
    consumerGroups: true,
    replay: false,
    delayedRedelivery: true,
    dedupe: false,
  },
  broker: () => RabbitBroker.connect({ url: RABBIT_URL, ...fast }),
  ...(haveRabbitmqctl ? { restart: restartRabbit } : {}),
});

let serial = 0;
const unique = (what: string) => `${what}_${(serial++).toString(36)}`;
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (d: Delivery) => Buffer.from(d.payload).toString();

describe('rabbitmq adapter', { skip }, () => {
  const opened: RabbitBroker[] = [];
  async function open(options: Partial<RabbitBrokerOptions> = {}): Promise<RabbitBroker> {
    const broker = await RabbitBroker.connect({ url: RABBIT_URL, ...fast, ...options });
    opened.push(broker);
    return broker;
  }
  after(() => Promise.all(opened.map((b) => b.close())));

  it('hands over foreign messages with sensible defaults and keeps consuming', bounded, async () => {
    const broker = await open();
    const topic = unique('foreign');
    const seen: Delivery[] = [];
    const sub = await broker.subscribe(topic, (d) => void seen.push(d), { group: 'g' });
    const raw = await connect(RABBIT_URL);
    const channel = await raw.createConfirmChannel();
    const exchange = `${prefix}${topic}`;
    channel.publish(exchange, 'any.key', Buffer.from('bare'));
    channel.publish(exchange, '', Buffer.from('odd'), {
      messageId: 'm-odd',
      headers: {
        n: 5,
        flag: true,
        bytes: Buffer.from('b'),
        table: { x: 1 },
        nothing: null,
        'x-death': 'not an array',
        'x-sb-attempts': 'lots',
        'x-sb-key': 42,
      },
    });
    await channel.waitForConfirms();
    await raw.close();
    await broker.publish(topic, { payload: bytes('ours') });
    await waitFor(() => seen.length >= 3, 5000);
    const [bare, odd, ours] = seen;
    assert.deepEqual([text(bare!), bare!.key, bare!.headers, bare!.attempt], ['bare', undefined, {}, 1]);
    assert.ok(bare!.id.length > 0);
    assert.deepEqual([odd!.id, odd!.key, odd!.attempt], ['m-odd', '42', 1]);
    assert.deepEqual(odd!.headers, { n: '5', flag: 'true', bytes: 'b', table: '{"x":1}' });
    assert.equal(text(ours!), 'ours');
    await sub.close();
  });

  it('refuses headers that RabbitMQ or the adapter own', bounded, async () => {
    const broker = await open();
    for (const name of ['x-death', 'x-delivery-count', 'x-sb-key', 'BCC']) {
      await assert.rejects(broker.publish('t', { headers: { [name]: 'v' }, payload: bytes('x') }), TypeError);
    }
  });

  it('redelivers a delivery not settled within ackTimeoutMs and ignores its late ack', bounded, async () => {
    const broker = await open();
    const topic = unique('acktimeout');
    const attempts: number[] = [];
    let late: (() => Promise<void>) | undefined;
    const sub = await broker.subscribe(
      topic,
      async (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) {
          late = () => d.ack();
          await sleep(300);
        }
      },
      { group: 'g', ackTimeoutMs: 100 },
    );
    await broker.publish(topic, { payload: bytes('slow') });
    await waitFor(() => attempts.length >= 2, 5000);
    await late?.();
    await sleep(300);
    assert.deepEqual(attempts, [1, 2]);
    await sub.close();
  });

  it('keeps the order of a key through a nack without delay', bounded, async () => {
    const broker = await open();
    const topic = unique('nackorder');
    const done: number[] = [];
    let nacked = false;
    const sub = await broker.subscribe(
      topic,
      async (d) => {
        const n = Number(text(d));
        if (n === 3 && !nacked) {
          nacked = true;
          return d.nack();
        }
        await sleep(2);
        done.push(n);
      },
      { group: 'g', maxInFlight: 8 },
    );
    for (let i = 0; i < 20; i++) await broker.publish(topic, { key: 'k', payload: bytes(String(i)) });
    await waitFor(() => done.length >= 20, 8000);
    assert.deepEqual(done, [...Array(20).keys()]);
    await sub.close();
  });

  it('redelivers nothing it acked just before its subscription closed', bounded, async () => {
    const broker = await open();
    const topic = unique('ackclose');
    await (await broker.subscribe(topic, () => {}, { group: 'g' })).close();
    const count = 3000;
    await Promise.all(
      Array.from({ length: 8 }, async (_, n) => {
        for (let i = n; i < count; i += 8) await broker.publish(topic, { payload: bytes(String(i)) });
      }),
    );
    let seen = 0;
    let closing: Promise<void> | undefined;
    const sub = await broker.subscribe(
      topic,
      () => {
        if (++seen === count) closing = sub.close();
      },
      { group: 'g', maxInFlight: 256 },
    );
    await waitFor(() => closing !== undefined, 10_000);
    await closing;
    const again: number[] = [];
    const next = await broker.subscribe(topic, (d) => void again.push(d.attempt), { group: 'g' });
    await sleep(500);
    assert.deepEqual(again, [], 'every ack reached RabbitMQ before the channel closed');
    await next.close();
  });

  it('counts attempts itself on classic queues', bounded, async () => {
    const broker = await open({ queueType: 'classic' });
    const topic = unique('classic');
    const dead: Delivery[] = [];
    const log: [string, number, number][] = [];
    const subs = [
      await broker.subscribe(`${topic}.dlq`, (d) => void dead.push(d), { group: 'dlq' }),
      await broker.subscribe(
        topic,
        (d) => {
          const what = text(d);
          log.push([what, d.attempt, Date.now()]);
          if (what === 'poison') return d.nack();
          if (d.attempt === 1) return d.nack(what === 'later' ? 150 : 0);
        },
        { group: 'g', maxAttempts: 3 },
      ),
    ];
    for (const what of ['again', 'later', 'poison']) await broker.publish(topic, { payload: bytes(what) });
    await waitFor(() => dead.length === 1 && log.length >= 7, 8000);
    const of = (what: string) => log.filter(([w]) => w === what);
    assert.deepEqual(
      of('again').map(([, attempt]) => attempt),
      [1, 2],
    );
    assert.deepEqual(
      of('later').map(([, attempt]) => attempt),
      [1, 2],
    );
    const [first, second] = of('later');
    assert.ok(second![2] - first![2] >= 150, 'waited at the broker');
    assert.deepEqual(
      of('poison').map(([, attempt]) => attempt),
      [1, 2, 3],
    );
    assert.equal(dead[0]!.headers['x-death-attempts'], '3');
    await Promise.all(subs.map((s) => s.close()));
  });

  it("lets a group's members compete with ordering 'none'", bounded, async () => {
    const [a, b] = [await open({ ordering: 'none' }), await open({ ordering: 'none' })];
    assert.equal(a.capabilities.orderingPerKey, false);
    const topic = unique('compete');
    const got: [string, string][] = [];
    const member = (name: string) => async (d: Delivery) => {
      await sleep(5);
      got.push([name, d.id]);
    };
    const subs = [
      await a.subscribe(topic, member('a'), { group: 'g' }),
      await b.subscribe(topic, member('b'), { group: 'g' }),
    ];
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await a.publish(topic, { payload: bytes(String(i)) })).id);
    await waitFor(() => got.length >= 40, 8000);
    await sleep(100);
    assert.deepEqual(got.map(([, id]) => id).sort(), ids.sort(), 'each message once');
    assert.ok(got.some(([m]) => m === 'a') && got.some(([m]) => m === 'b'), 'both members took some');
    await Promise.all(subs.map((s) => s.close()));
  });

  it('takes topic and group names longer than AMQP allows', bounded, async () => {
    const broker = await open();
    const topic = `${unique('long')}${'é'.repeat(200)}`;
    const seen: string[] = [];
    const sub = await broker.subscribe(topic, (d) => void seen.push(text(d)), { group: 'g'.repeat(200) });
    await broker.publish(topic, { key: 'k'.repeat(300), payload: bytes('long') });
    await waitFor(() => seen.length === 1, 5000);
    await sub.close();
  });

  it('fails to connect with a clear error and no password in it', bounded, async () => {
    await assert.rejects(
      RabbitBroker.connect({ url: 'amqp://guest:secret@127.0.0.1:1', connectTimeoutMs: 1000 }),
      (error: Error) =>
        error instanceof RabbitUnavailableError &&
        /cannot connect to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/.test(error.message),
    );
  });
});

describe('rabbitmq adapter through a broken network', { skip }, () => {
  const opened: RabbitBroker[] = [];
  const proxies: TcpProxy[] = [];
  let direct: RabbitBroker;
  /** A client whose connections go through a new proxy, quick to notice and to reconnect. */
  async function behindProxy(options: Partial<RabbitBrokerOptions> = {}) {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5672 });
    proxies.push(proxy);
    const broker = await RabbitBroker.connect({
      url: `amqp://guest:guest@${proxy.address}`,
      ...fast,
      heartbeatSeconds: 1,
      connectTimeoutMs: 500,
      reconnect: { baseMs: 50, maxMs: 300 },
      ...options,
    });
    opened.push(broker);
    return { proxy, broker };
  }
  /** Every connection cut, and new ones accepted but never answered. */
  async function outage(proxy: TcpProxy): Promise<void> {
    proxy.partition();
    proxy.reset();
    await sleep(100); // the client sees its socket close
  }
  before(async () => {
    direct = await RabbitBroker.connect({ url: RABBIT_URL, ...fast });
    opened.push(direct);
  });
  after(async () => {
    await Promise.all(opened.map((b) => b.close()));
    await Promise.all(proxies.map((p) => p.close()));
  });

  it('holds publishes and subscribes through an outage, then delivers and consumes', bounded, async () => {
    const { proxy, broker } = await behindProxy({ publishTimeoutMs: 8000 });
    const topic = unique('outage');
    const got = new Set<string>();
    const sub = await broker.subscribe(topic, (d) => void got.add(text(d)), { group: 'g' });
    await direct.publish(topic, { payload: bytes('before') });
    await waitFor(() => got.has('before'), 5000);
    await outage(proxy);
    const sentAt = Date.now();
    const during = broker.publish(topic, { payload: bytes('during') });
    const late: string[] = [];
    const lateSub = broker.subscribe(topic, (d) => void late.push(text(d)), { group: 'late' });
    await sleep(500);
    proxy.heal();
    await during;
    assert.ok(Date.now() - sentAt >= 500, 'the publish waited for the connection');
    const subs = [sub, await lateSub];
    await direct.publish(topic, { payload: bytes('after') });
    await waitFor(() => got.has('during') && got.has('after') && late.includes('after'), 10_000);
    await Promise.all(subs.map((s) => s.close()));
  });

  it(
    'finishes a subscribe whose connection is lost while it declares, on the next connection',
    bounded,
    async () => {
      const { proxy, broker } = await behindProxy({ publishTimeoutMs: 8000, heartbeatSeconds: 30 });
      const topic = unique('lost_while_subscribing');
      const got: string[] = [];
      proxy.partition(); // the declarations go unanswered
      const subscribing = broker.subscribe(topic, (d) => void got.push(text(d)), { group: 'g' });
      await sleep(150);
      proxy.reset(); // and their connection closes under them
      await sleep(300);
      proxy.heal();
      const sub = await subscribing;
      await direct.publish(topic, { payload: bytes('after the outage') });
      await waitFor(() => got.includes('after the outage'), 5000);
      await sub.close();
    },
  );

  it(
    'fails a subscribe clearly when the connection lost while declaring does not come back',
    bounded,
    async () => {
      const { proxy, broker } = await behindProxy({ publishTimeoutMs: 400, heartbeatSeconds: 30 });
      proxy.partition();
      const subscribing = broker.subscribe(unique('never'), () => {}, { group: 'g' });
      await sleep(100);
      proxy.reset();
      await assert.rejects(subscribing, (error: Error) => {
        return error instanceof RabbitUnavailableError && /lost while subscribing/.test(error.message);
      });
      proxy.heal();
    },
  );

  it(
    'fails publishes clearly when RabbitMQ stays unreachable, and bounds the waiting ones',
    bounded,
    async () => {
      const { proxy, broker } = await behindProxy({ publishTimeoutMs: 400, maxBufferedPublishes: 2 });
      await outage(proxy);
      const waiting = [1, 2].map(() => broker.publish('t', { payload: bytes('w') }));
      await assert.rejects(broker.publish('t', { payload: bytes('x') }), (error: Error) => {
        return error instanceof RabbitUnavailableError && /2 operations already wait/.test(error.message);
      });
      for (const publish of waiting) {
        await assert.rejects(publish, (error: Error) => {
          return error instanceof RabbitUnavailableError && /unreachable for 400 ms/.test(error.message);
        });
      }
      proxy.heal();
    },
  );

  it('bounds the wait for a confirm on a connection that went silent', bounded, async () => {
    const { proxy, broker } = await behindProxy({ publishTimeoutMs: 300, heartbeatSeconds: 30 });
    const topic = unique('silent');
    await broker.publish(topic, { payload: bytes('declares the exchange') });
    proxy.partition();
    const started = Date.now();
    await assert.rejects(broker.publish(topic, { payload: bytes('no answer') }), (error: Error) => {
      return (
        error instanceof RabbitUnavailableError &&
        /did not confirm the publish within 300 ms/.test(error.message)
      );
    });
    assert.ok(Date.now() - started < 2000, 'within publishTimeoutMs');
    proxy.heal();
  });

  it('rejects a publish sent but not confirmed when the connection drops', bounded, async () => {
    const { proxy, broker } = await behindProxy({ publishTimeoutMs: 5000, heartbeatSeconds: 30 });
    const topic = unique('unconfirmed');
    await broker.publish(topic, { payload: bytes('declares the exchange') });
    proxy.partition();
    const lost = broker.publish(topic, { payload: bytes('into the void') });
    await sleep(100);
    proxy.reset();
    await assert.rejects(lost, (error: Error) => {
      return error instanceof RabbitUnavailableError && /lost before it confirmed/.test(error.message);
    });
    proxy.heal();
    await broker.publish(topic, { payload: bytes('and later it works again') });
  });
});
