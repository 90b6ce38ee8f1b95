import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InstanceTable } from '../../discovery/instance-table.ts';
import { EjectionReports } from './ejection-reports.ts';
import { SnapshotBuilder } from './snapshot.ts';
import type { SpanRecord } from './span-record.ts';
import { TopologyStats } from './topology-stats.ts';

function serverSpan(service: string, rpcService: string): SpanRecord {
  return {
    traceId: 'b'.repeat(32),
    spanId: '1'.repeat(16),
    name: `${rpcService}/Get`,
    service,
    kind: 'server',
    startMs: 1000,
    durationMs: 1,
    status: { code: 'unset' },
    attributes: { 'rpc.system': 'grpc', 'rpc.service': rpcService },
  };
}

describe('SnapshotBuilder', () => {
  it('shows a registered service as the process its spans name, with its instances and what it serves', async () => {
    const registry = new InstanceTable();
    const endpoints = [{ transport: 'grpc' as const, host: '127.0.0.1', port: 1 }];
    registry.upsert({ service: 'shop.v1.Orders', id: 'o-1', endpoints, metadata: {} }, 5000);
    registry.upsert({ service: 'legacy.Billing', id: 'b-1', endpoints, metadata: {} }, 5000);
    const topology = new TopologyStats();
    topology.record([serverSpan('orders', 'shop.v1.Orders')]);
    const ejections = new EjectionReports();
    ejections.report('o-1', 'gateway', true);
    const snapshot = await new SnapshotBuilder({
      registry,
      topology,
      ejections,
      broker: () => undefined,
    }).build();
    assert.deepEqual(
      snapshot.services.map((s) => [s.name, s.serves, s.instances.map((i) => `${i.service}/${i.id}`)]),
      [
        ['legacy.Billing', ['legacy.Billing'], ['legacy.Billing/b-1']],
        ['orders', ['shop.v1.Orders'], ['shop.v1.Orders/o-1']],
      ],
      'one node per process; a service without spans keeps its registered name',
    );
    assert.equal(snapshot.services[1]?.instances[0]?.ejected, true);
  });
});
