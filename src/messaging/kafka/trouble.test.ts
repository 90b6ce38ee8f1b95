/**
 * Broker trouble, as far as librdkafka's mock cluster can show it. The mock keeps nothing
 * across a restart and picks new ports every start, so "down and back" is a frozen cluster
 * (SIGSTOP: connections open, nothing answers, then SIGCONT with its data intact), and "down"
 * is a killed one (connections refused).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { KAFKA_TEST_TIMINGS, KafkaMockCluster, kcatInstalled } from '../../../test/support/kafka-mock.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { Status } from '../../contract/index.ts';
import { KafkaBroker } from './broker.ts';
import type { KafkaBrokerOptions } from './options.ts';

const skip = await serviceMissing('kcat (the Kafka mock cluster)', kcatInstalled);

describe('KafkaBroker when the cluster is in trouble', { skip }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setUp(extra: Partial<KafkaBrokerOptions> = {}) {
    const cluster = await KafkaMockCluster.start();
    cleanup.push(() => cluster.stop());
    const broker = await KafkaBroker.connect({
      brokers: cluster.bootstrapServers,
      ...KAFKA_TEST_TIMINGS,
      ...extra,
    });
    cleanup.push(async () => {
      cluster.resume();
      await broker.close();
    });
    return { cluster, broker };
  }

  const bytes = (text: string) => new TextEncoder().encode(text);

  it('fails publishes to a frozen cluster within publishTimeoutMs, and publishes again once it thaws', {
    timeout: 30_000,
  }, async () => {
    const { cluster, broker } = await setUp({ publishTimeoutMs: 1500, requestTimeoutMs: 1000 });
    await broker.publish('frozen', { payload: bytes('before') });
    cluster.pause();
    const started = Date.now();
    await assert.rejects(
      broker.publish('frozen', { payload: bytes('during') }),
      (err: Error & { code?: number }) =>
        err.code === Status.DEADLINE_EXCEEDED && /not acknowledged within 1500 ms/.test(err.message),
    );
    const waited = Date.now() - started;
    assert.ok(waited >= 1400 && waited < 3000, `failed after ${waited} ms`);
    cluster.resume();
    await waitFor(async () => {
      try {
        await broker.publish('frozen', { payload: bytes('after') });
        return true;
      } catch {
        return false;
      }
    }, 15_000);
  });

  it('refuses publishes beyond maxPendingPublishes at once instead of buffering them', {
    timeout: 20_000,
  }, async () => {
    const { cluster, broker } = await setUp({ maxPendingPublishes: 5, publishTimeoutMs: 1000 });
    await broker.publish('capped', { payload: bytes('warm') });
    cluster.pause();
    const waiting = Array.from({ length: 5 }, () => broker.publish('capped', { payload: bytes('x') }));
    await assert.rejects(
      broker.publish('capped', { payload: bytes('one too many') }),
      (err: Error & { code?: number }) => err.code === Status.RESOURCE_EXHAUSTED,
    );
    const outcomes = await Promise.allSettled(waiting);
    assert.ok(outcomes.every((o) => o.status === 'rejected'));
  });

  it('fails publishes to a dead cluster with UNAVAILABLE within seconds', { timeout: 30_000 }, async () => {
    const { cluster, broker } = await setUp({ publishTimeoutMs: 20_000, requestTimeoutMs: 1000 });
    await broker.publish('dead', { payload: bytes('before') });
    await cluster.stop();
    const started = Date.now();
    await assert.rejects(
      broker.publish('dead', { payload: bytes('after') }),
      (err: Error & { code?: number }) =>
        err.code === Status.UNAVAILABLE && /publish to Kafka topic "dead" failed/.test(err.message),
    );
    const waited = Date.now() - started;
    assert.ok(waited < 15_000, `failed after ${waited} ms`);
  });

  it('refuses to connect to a cluster that is not there, within seconds', { timeout: 30_000 }, async () => {
    const cluster = await KafkaMockCluster.start();
    const brokers = [...cluster.bootstrapServers];
    await cluster.stop();
    const started = Date.now();
    await assert.rejects(
      KafkaBroker.connect({ brokers, connectionTimeoutMs: 500, requestTimeoutMs: 1000 }),
      (err: Error & { code?: number }) =>
        err.code === Status.UNAVAILABLE && /could not connect/.test(err.message),
    );
    assert.ok(Date.now() - started < 15_000);
  });

  it('lets a subscriber resume from its committed offset after the cluster froze past the session', {
    timeout: 60_000,
  }, async () => {
    const { cluster, broker } = await setUp({ requestTimeoutMs: 1000 });
    const seen = new Set<string>();
    const sub = await broker.subscribe('resume', (d) => void seen.add(Buffer.from(d.payload).toString()), {
      group: 'survivors',
    });
    cleanup.push(() => sub.close());
    for (let i = 0; i < 5; i++) await broker.publish('resume', { key: `k${i}`, payload: bytes(`m${i}`) });
    await waitFor(() => seen.size === 5, 15_000);
    cluster.pause();
    await sleep(KAFKA_TEST_TIMINGS.sessionTimeoutMs + 2000); // the member's session runs out meanwhile
    cluster.resume();
    for (let i = 5; i < 10; i++) {
      await waitFor(async () => {
        try {
          await broker.publish('resume', { key: `k${i}`, payload: bytes(`m${i}`) });
          return true;
        } catch {
          return false;
        }
      }, 15_000);
    }
    await waitFor(() => seen.size === 10, 30_000);
  });
});
