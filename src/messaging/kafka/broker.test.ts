/**
 * What the conformance suite does not cover: the Kafka mapping as plain Kafka clients see it
 * (kafkajs used directly here), positions, and the idempotent producer's requirement.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { KAFKA_TEST_TIMINGS, KafkaMockCluster, kcatInstalled } from '../../../test/support/kafka-mock.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { Status } from '../../contract/index.ts';
import type { Delivery } from '../broker.ts';
import { KafkaBroker } from './broker.ts';
import { ID_HEADER } from './envelope.ts';

const skip = await serviceMissing('kcat (the Kafka mock cluster)', kcatInstalled);

describe('KafkaBroker on the Kafka mock cluster', { skip }, () => {
  let cluster: KafkaMockCluster;
  let broker: KafkaBroker;
  let kafka: Kafka;

  before(async () => {
    cluster = await KafkaMockCluster.start();
    broker = await KafkaBroker.connect({ brokers: cluster.bootstrapServers, ...KAFKA_TEST_TIMINGS });
    kafka = new Kafka({ brokers: [...cluster.bootstrapServers], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker?.close();
    await cluster?.stop();
  });

  it('refuses the reserved id header and illegal topic names before publishing', async () => {
    const payload = new Uint8Array([1]);
    await assert.rejects(broker.publish('t', { headers: { [ID_HEADER]: 'x' }, payload }), TypeError);
    await assert.rejects(broker.publish('a/b', { payload }), TypeError);
    await assert.rejects(
      broker.subscribe('t', () => {}, { group: 'g', deadLetterTopic: 'no good' }),
      TypeError,
    );
  });

  it('reports partition/offset positions, consecutive for one key', async () => {
    const receipts = [];
    for (let i = 0; i < 3; i++)
      receipts.push(await broker.publish('positions', { key: 'one', payload: new Uint8Array([i]) }));
    const [p0, o0] = receipts[0]!.position!.split('/').map(Number);
    assert.deepEqual(
      receipts.map((r) => r.position),
      [0, 1, 2].map((i) => `${p0}/${o0! + i}`),
    );
  });

  it('writes records a plain Kafka consumer reads: raw value, key, headers and the id header', async () => {
    const receipt = await broker.publish('plain-out', {
      id: 'order-42',
      key: 'customer-7',
      headers: { traceparent: 't-1' },
      payload: Buffer.from('Hello, world!'),
    });
    const consumer = kafka.consumer({ groupId: 'plain-reader', ...kafkajsTimings() });
    const got: { key: string; value: string; headers: Record<string, string>; at: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: ['plain-out'], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        got.push({
          key: String(message.key),
          value: String(message.value),
          headers,
          at: `${partition}/${message.offset}`,
        });
      },
    });
    try {
      await waitFor(() => got.length === 1, 15_000);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(got[0], {
      key: 'customer-7',
      value: 'Hello, world!',
      headers: { traceparent: 't-1', [ID_HEADER]: 'order-42' },
      at: receipt.position,
    });
  });

  it("delivers a plain producer's record under an id made of its position", async () => {
    const seen: Delivery[] = [];
    const sub = await broker.subscribe('plain-in', (d) => void seen.push(d), {
      group: 'g',
      startAt: 'earliest',
    });
    const producer = kafka.producer();
    await producer.connect();
    const [meta] = await producer.send({
      topic: 'plain-in',
      messages: [
        {
          key: 'k',
          value: Buffer.from([0xc3, 0x28]),
          headers: { raw: Buffer.from([0xff]), list: ['a', 'b'] },
        },
      ],
    });
    await producer.disconnect();
    try {
      await waitFor(() => seen.length === 1, 15_000);
    } finally {
      await sub.close();
    }
    const d = seen[0]!;
    assert.equal(d.id, `plain-in/${meta!.partition}/${meta!.baseOffset}`);
    assert.equal(d.key, 'k');
    assert.deepEqual(Buffer.from(d.payload), Buffer.from([0xc3, 0x28]));
    assert.deepEqual(d.headers, { raw: '\ufffd', list: 'b' });
  });

  it('counts attempts on from what a dead owner committed, and dead-letters a record that used them all', {
    timeout: 30_000,
  }, async () => {
    const spent = await broker.publish('poison', { key: 'p', payload: Buffer.from('kills its consumer') });
    const tried = await broker.publish('poison', { key: 'p', payload: Buffer.from('tried once') });
    const [partition, offset] = spent.position!.split('/').map(Number);
    // As an owner that died would leave it: its commit names both records' deliveries.
    const metadata = JSON.stringify({ attempts: { [offset!]: 3, [offset! + 1]: 1 } });
    await commitAs('poisoned', 'poison', partition!, offset!, metadata);

    const dead: Delivery[] = [];
    const deadSub = await broker.subscribe('poison.dlq', (d) => void dead.push(d), {
      group: 'dlq-reader',
      startAt: 'earliest',
    });
    const seen: Delivery[] = [];
    const sub = await broker.subscribe('poison', (d) => void seen.push(d), {
      group: 'poisoned',
      maxAttempts: 3,
    });
    try {
      await waitFor(() => dead.length === 1 && seen.length === 1, 20_000);
    } finally {
      await Promise.all([sub.close(), deadSub.close()]);
    }
    assert.equal(dead[0]!.id, spent.id, 'dead-lettered without running');
    assert.equal(dead[0]!.headers['x-death-attempts'], '3');
    assert.match(dead[0]!.headers['x-death-reason'] ?? '', /without being settled/);
    assert.deepEqual(
      seen.map((d) => [d.id, d.attempt]),
      [[tried.id, 2]],
    );
  });

  /** Commits like a plain kafkajs member of `group` would (it has to join first). */
  async function commitAs(group: string, topic: string, partition: number, offset: number, metadata: string) {
    const consumer = kafka.consumer({ groupId: group, ...kafkajsTimings() });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
    await consumer.run({ autoCommit: false, eachBatch: async () => {} });
    await joined;
    await consumer.commitOffsets([{ topic, partition, offset: String(offset), metadata }]);
    await consumer.disconnect();
  }

  it('uses the idempotent producer only where the cluster allows it', async () => {
    // The mock names broker 0 as its controller, which does not exist: kafkajs cannot get a producer id.
    assert.equal(broker.idempotent, false);
    await assert.rejects(
      KafkaBroker.connect({ brokers: cluster.bootstrapServers, idempotent: true }),
      (err: Error & { code?: number }) =>
        err.code === Status.FAILED_PRECONDITION && /controller/.test(err.message),
    );
  });
});

function kafkajsTimings() {
  return {
    sessionTimeout: KAFKA_TEST_TIMINGS.sessionTimeoutMs,
    heartbeatInterval: KAFKA_TEST_TIMINGS.heartbeatIntervalMs,
    maxWaitTimeInMs: KAFKA_TEST_TIMINGS.fetchMaxWaitMs,
  };
}
