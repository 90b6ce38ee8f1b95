import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { waitFor } from '../../../test/support/wait.ts';
import type { Broker, Delivery, Subscription } from '../../messaging/broker.ts';
import { MemoryBroker } from '../../messaging/memory/broker.ts';
import { startTracing } from './start-tracing.ts';
import { TracedBroker } from './traced-broker.ts';

const exporter = new InMemorySpanExporter();
const tracing = startTracing({ serviceName: 'broker-test', exporter });
const payload = new TextEncoder().encode('hello');
const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function only(kind: SpanKind): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.kind === kind);
}

describe('TracedBroker', () => {
  const subscriptions: Subscription[] = [];
  let broker: TracedBroker;

  beforeEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.close()));
    await broker?.close();
    broker = new TracedBroker(new MemoryBroker({ retryBackoffMs: 10 }), { tracer: tracing.tracer });
    exporter.reset();
  });
  after(async () => {
    await Promise.all(subscriptions.map((s) => s.close()));
    await broker.close();
    await tracing.shutdown();
  });

  it('delegates what it does not trace', async () => {
    const inner = new MemoryBroker();
    const traced = new TracedBroker(inner);
    assert.equal(traced.kind, 'memory');
    assert.equal(traced.capabilities, inner.capabilities);
    await traced.publish('counted', { payload });
    const stats = await traced.stats?.();
    assert.equal(stats?.topics.find((t) => t.name === 'counted')?.published, 1);
    // A broker without stats() stays without: callers test for the optional member.
    const bare: Broker = {
      kind: 'bare',
      capabilities: inner.capabilities,
      publish: (topic, message) => inner.publish(topic, message),
      subscribe: (topic, handler, options) => inner.subscribe(topic, handler, options),
      close: () => inner.close(),
    };
    assert.equal(new TracedBroker(bare).stats, undefined);
    await traced.close();
    await assert.rejects(inner.publish('t', { payload }), /closed/);
  });

  it('publishes a copy carrying the producer span, a child of the caller, and hands the consumer span on', async () => {
    const seen: Delivery[] = [];
    subscriptions.push(
      await broker.subscribe('orders', (d) => void seen.push(d), { group: 'g', startAt: 'earliest' }),
    );
    const headers = { traceparent: CALLER, 'x-other': 'kept' };
    const receipt = await broker.publish('orders', { id: 'm-1', headers, payload });
    assert.deepEqual(
      headers,
      { traceparent: CALLER, 'x-other': 'kept' },
      "the caller's headers are untouched",
    );
    await waitFor(() => only(SpanKind.CONSUMER).length === 1);

    const [producer] = only(SpanKind.PRODUCER);
    const [consumer] = only(SpanKind.CONSUMER);
    assert.ok(producer && consumer);
    assert.equal(producer.name, 'publish orders');
    assert.equal(producer.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(producer.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.deepEqual(producer.attributes, {
      'messaging.system': 'memory',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.message.id': receipt.id,
    });
    assert.equal(consumer.name, 'process orders');
    assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
    assert.equal(consumer.attributes['messaging.consumer.group.name'], 'g');
    assert.equal(consumer.attributes['switchboard.delivery.attempt'], 1);
    assert.equal(consumer.attributes['switchboard.delivery.outcome'], 'ack');

    const delivery = seen[0]!;
    assert.equal(delivery.headers['x-other'], 'kept');
    assert.equal(
      delivery.headers.traceparent,
      `00-${consumer.spanContext().traceId}-${consumer.spanContext().spanId}-01`,
    );
    assert.equal(new TextDecoder().decode(delivery.payload), 'hello');
  });

  it('starts a trace for a message without trace context, and records the id the broker gave it', async () => {
    const receipt = await broker.publish('plain', { payload });
    const [producer] = only(SpanKind.PRODUCER);
    assert.equal(producer?.parentSpanContext, undefined);
    assert.equal(producer?.attributes['messaging.message.id'], receipt.id);
  });

  it('ends the consumer span at settlement: term is an error, a thrown handler too, each attempt a span', async () => {
    let attempts = 0;
    subscriptions.push(
      await broker.subscribe(
        'work',
        async (d) => {
          attempts++;
          if (d.attempt === 1) throw new Error('not yet');
          await d.term('given up');
          // Settled already: the handler's end changes nothing.
        },
        { group: 'g', startAt: 'earliest' },
      ),
    );
    await broker.publish('work', { payload, headers: { traceparent: CALLER } });
    await waitFor(() => only(SpanKind.CONSUMER).length === 2);
    assert.equal(attempts, 2);
    const [first, second] = only(SpanKind.CONSUMER).sort(
      (a, b) =>
        Number(a.attributes['switchboard.delivery.attempt']) -
        Number(b.attributes['switchboard.delivery.attempt']),
    );
    assert.equal(first?.status.code, SpanStatusCode.ERROR);
    assert.equal(first?.status.message, 'not yet');
    assert.equal(first?.attributes['switchboard.delivery.outcome'], 'failed');
    assert.equal(second?.attributes['switchboard.delivery.attempt'], 2);
    assert.equal(second?.attributes['switchboard.delivery.outcome'], 'term');
    assert.equal(second?.status.message, 'given up');
    const [producer] = only(SpanKind.PRODUCER);
    for (const span of [first, second])
      assert.equal(span?.parentSpanContext?.spanId, producer?.spanContext().spanId);
  });

  it('fails the producer span when the publish fails', async () => {
    await assert.rejects(broker.publish('', { payload }));
    const [producer] = only(SpanKind.PRODUCER);
    assert.equal(producer?.status.code, SpanStatusCode.ERROR);
  });
});
