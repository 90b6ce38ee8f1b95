import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EjectionReports } from './ejection-reports.ts';
import type { SpanKindName, SpanRecord } from './span-record.ts';
import { TopologyStats } from './topology-stats.ts';
import { TraceStore } from './trace-store.ts';

let next = 1;
function span(
  service: string,
  kind: SpanKindName,
  options: Partial<SpanRecord> & { attributes?: SpanRecord['attributes'] } = {},
): SpanRecord {
  return {
    traceId: 'a'.repeat(32),
    spanId: (next++).toString(16).padStart(16, '0'),
    name: 'op',
    service,
    kind,
    startMs: 1000,
    durationMs: 10,
    status: { code: 'unset' },
    attributes: {},
    ...options,
  };
}

const rpc = { 'rpc.system': 'grpc', 'rpc.service': 'greet.Greeter' };

describe('TopologyStats', () => {
  it('pairs client and server spans arriving in either order and in separate batches', () => {
    let now = 100_000;
    const stats = new TopologyStats({ now: () => now });
    const c1 = span('web', 'client', { attributes: { 'switchboard.transport': 'native' } });
    const s1 = span('greeter', 'server', { parentSpanId: c1.spanId });
    stats.record([s1]);
    assert.deepEqual(stats.edges(), [], 'the server alone is no edge yet');
    stats.record([c1]);
    const c2 = span('web', 'client', { attributes: { 'switchboard.transport': 'native' }, durationMs: 30 });
    stats.record([c2]);
    stats.record([span('greeter', 'server', { parentSpanId: c2.spanId, status: { code: 'error' } })]);
    now += 500;
    assert.deepEqual(stats.edges(), [
      { from: 'web', to: 'greeter', transport: 'native', rate: 2, errorRate: 0.5, p99Ms: 30, count: 2 },
    ]);
  });

  it('counts a client span at once once a server span has tied its rpc.service to a name, and only once', () => {
    const stats = new TopologyStats({ now: () => 5_000 });
    stats.record([span('greeter', 'server', { attributes: rpc })]);
    const client = span('web', 'client', { attributes: rpc });
    stats.record([client]);
    assert.equal(stats.edges()[0]?.count, 1);
    // Its own server span arriving later does not count the call again.
    stats.record([span('greeter', 'server', { parentSpanId: client.spanId, attributes: rpc })]);
    assert.deepEqual(
      stats.edges().map((e) => [e.from, e.to, e.transport, e.count]),
      [['web', 'greeter', 'grpc', 1]],
    );
  });

  it("takes the transport from the server span when the client's does not say (a client by name)", () => {
    const stats = new TopologyStats({ now: () => 5_000 });
    const native = { 'rpc.system': 'switchboard', 'network.protocol.name': 'switchboard-native' };
    const byName = span('web', 'client', { attributes: { 'rpc.service': 'shop.Cart' } });
    stats.record([byName, span('cart', 'server', { parentSpanId: byName.spanId, attributes: native })]);
    // Learned with rpc.service: a later client by name counts at once, over the same transport.
    stats.record([span('cart', 'server', { attributes: { ...native, 'rpc.service': 'shop.Cart' } })]);
    stats.record([span('web', 'client', { attributes: { 'rpc.service': 'shop.Cart' } })]);
    const rest = span('web', 'client', {
      attributes: { 'rpc.system': 'switchboard', 'network.protocol.name': 'http' },
    });
    stats.record([rest, span('cart', 'server', { parentSpanId: rest.spanId })]);
    assert.deepEqual(
      stats
        .edges()
        .map((e) => `${e.from}>${e.to}:${e.transport}:${e.count}`)
        .sort(),
      ['web>cart:http:1', 'web>cart:native:2'],
    );
  });

  it('makes topics nodes: producer → topic:<name> → each consumer, consumers finding the topic via their parent', () => {
    const stats = new TopologyStats({ now: () => 5_000 });
    const producer = span('web', 'producer', { attributes: { 'messaging.destination.name': 'orders' } });
    const early = span('audit', 'consumer', { parentSpanId: producer.spanId });
    stats.record([early]);
    stats.record([producer, span('billing', 'consumer', { parentSpanId: producer.spanId })]);
    const edges = stats.edges().map((e) => `${e.from}>${e.to}:${e.transport}:${e.count}`);
    assert.deepEqual(edges.sort(), [
      'topic:orders>audit:queue:1',
      'topic:orders>billing:queue:1',
      'web>topic:orders:queue:1',
    ]);
  });

  it('ignores calls within one service and forgets what falls out of the window', () => {
    let now = 10_000;
    const stats = new TopologyStats({ now: () => now, windowMs: 60_000 });
    const self = span('web', 'client');
    stats.record([self, span('web', 'server', { parentSpanId: self.spanId })]);
    assert.deepEqual(stats.edges(), []);
    for (let i = 0; i < 3; i++) {
      const c = span('web', 'client');
      stats.record([c, span('api', 'server', { parentSpanId: c.spanId })]);
      now += 20_000;
    }
    // Calls at 10 s, 30 s, 50 s; now 70 s: the first is out of the window.
    const [edge] = stats.edges();
    assert.equal(edge?.count, 2);
    assert.equal(edge?.rate, 0.033);
    assert.deepEqual(stats.services().sort(), ['api', 'web']);
    now += 60_000;
    assert.deepEqual(stats.edges(), []);
    assert.deepEqual(stats.services(), []);
    // A server whose client span never came is forgotten too; a late client is then no edge.
    const orphanParent = span('web', 'client');
    stats.record([span('api', 'server', { parentSpanId: orphanParent.spanId })]);
    now += 61_000;
    stats.record([span('x', 'internal')]);
    stats.record([orphanParent]);
    assert.deepEqual(stats.edges(), []);
  });

  it('bounds what it remembers', () => {
    const stats = new TopologyStats({ now: () => 1_000, maxPending: 10, maxEdges: 2 });
    for (let i = 0; i < 100; i++) stats.record([span('web', 'client')]);
    for (let i = 0; i < 5; i++) {
      const c = span(`s${i}`, 'client');
      stats.record([c, span('t', 'server', { parentSpanId: c.spanId })]);
    }
    assert.equal(stats.edges().length, 2);
    assert.ok(stats.services().length <= 10);
  });
});

describe('TraceStore', () => {
  it('evicts the oldest traces and caps spans per trace', () => {
    const store = new TraceStore({ maxTraces: 3, maxSpansPerTrace: 2 });
    for (const t of ['1', '2', '3', '4'])
      store.add([span('web', 'server', { traceId: t.repeat(32), startMs: Number(t) })]);
    assert.equal(store.size, 3);
    assert.equal(store.spans('1'.repeat(32)), undefined);
    assert.deepEqual(
      store.list().map((s) => s.traceId[0]),
      ['4', '3', '2'],
    );
    const id = '4'.repeat(32);
    store.add([span('api', 'client', { traceId: id }), span('api', 'client', { traceId: id })]);
    const [summary] = store.list({ limit: 1 });
    assert.equal(summary?.spanCount, 2);
    assert.equal(summary?.droppedSpans, 1);
    assert.deepEqual(store.list({ service: 'nobody' }), []);
  });
});

describe('EjectionReports', () => {
  it('shows an instance ejected while any unexpired report says so', () => {
    let now = 0;
    const reports = new EjectionReports({ now: () => now, ttlMs: 60_000 });
    reports.report('i1', 'a', true);
    now = 30_000;
    reports.report('i1', 'b', false);
    assert.equal(reports.isEjected('i1'), true);
    assert.deepEqual(reports.ejectedBy('i1'), ['a']);
    now = 60_001;
    assert.equal(reports.isEjected('i1'), false, "a's report expired");
    reports.report('i1', 'b', true);
    assert.equal(reports.isEjected('i1'), true);
    assert.equal(reports.isEjected('unknown'), false);
  });
});
