import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceInstance } from './instance.ts';
import { InstanceTable } from './instance-table.ts';

function instance(id: string, service = 'greet.Greeter'): ServiceInstance {
  return { service, id, endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }], metadata: {} };
}

/** A table on a clock the test moves. */
function table(): { table: InstanceTable; advance: (ms: number) => void } {
  let now = 1_000;
  return {
    table: new InstanceTable({ now: () => now }),
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('InstanceTable plain leases', () => {
  it('removes an entry once its lease runs out, and a renewal postpones that', () => {
    const { table: t, advance } = table();
    t.upsert(instance('a'), 1000);
    advance(900);
    assert.equal(t.renew('greet.Greeter', 'a'), true);
    advance(900);
    assert.equal(t.sweep(), 0);
    assert.deepEqual(
      t.list('greet.Greeter').map((i) => i.id),
      ['a'],
    );
    advance(100);
    assert.equal(t.sweep(), 1);
    assert.deepEqual(t.list('greet.Greeter'), []);
    assert.equal(t.renew('greet.Greeter', 'a'), false);
  });

  it('keeps the entry shape of a plain lease', () => {
    const { table: t } = table();
    const entry = t.upsert(instance('a'), 1000);
    assert.deepEqual(Object.keys(entry).sort(), [
      'expiresAt',
      'health',
      'instance',
      'modifyIndex',
      'output',
      'registeredAt',
      'ttlMs',
    ]);
  });
});

describe('InstanceTable leases that turn critical (Consul TTL checks)', () => {
  it('starts with the health asked for', () => {
    const { table: t } = table();
    t.upsert(instance('a'), 1000, { onExpiry: 'critical', health: 'critical', output: 'new' });
    assert.deepEqual(t.list('greet.Greeter'), []);
    assert.equal(t.list('greet.Greeter', ['critical']).length, 1);
    assert.equal(t.get('greet.Greeter', 'a')?.output, 'new');
  });

  it('turns critical at expiry, stays listed as critical, bumps the index once', () => {
    const { table: t, advance } = table();
    t.upsert(instance('a'), 1000, { onExpiry: 'critical' });
    const before = t.index;
    advance(1000);
    assert.equal(t.sweep(), 0);
    assert.equal(t.index, before + 1);
    const entry = t.get('greet.Greeter', 'a');
    assert.equal(entry?.health, 'critical');
    assert.equal(entry?.output, 'TTL expired');
    assert.equal(entry?.modifyIndex, t.index);
    assert.deepEqual(t.list('greet.Greeter'), []);
    advance(60_000);
    t.sweep();
    assert.equal(t.index, before + 1, 'an entry already critical is not changed again');
    assert.equal(t.size, 1);
    assert.equal(t.nextExpiry(), Number.POSITIVE_INFINITY);
  });

  it('comes back when renewed after expiry', () => {
    const { table: t, advance } = table();
    t.upsert(instance('a'), 1000, { onExpiry: 'critical' });
    advance(1500);
    t.sweep();
    assert.equal(t.renew('greet.Greeter', 'a', 'passing', 'back'), true);
    assert.equal(t.list('greet.Greeter').length, 1);
    assert.equal(t.get('greet.Greeter', 'a')?.criticalSince, undefined);
  });

  it('removes an entry critical for longer than removeAfterCriticalMs, counted from its expiry', () => {
    const { table: t, advance } = table();
    t.upsert(instance('a'), 1000, { onExpiry: 'critical', removeAfterCriticalMs: 5000 });
    advance(1000);
    t.sweep();
    assert.equal(t.get('greet.Greeter', 'a')?.health, 'critical');
    assert.equal(t.nextExpiry(), 1_000 + 1000 + 5000);
    advance(4999);
    assert.equal(t.sweep(), 0);
    advance(1);
    assert.equal(t.sweep(), 1);
    assert.equal(t.size, 0);
  });

  it('counts the critical time of a failed check from the failure, and a pass resets it', () => {
    const { table: t, advance } = table();
    t.upsert(instance('a'), 10_000, { onExpiry: 'critical', removeAfterCriticalMs: 3000 });
    advance(1000);
    t.renew('greet.Greeter', 'a', 'critical', 'failing');
    advance(2000);
    t.renew('greet.Greeter', 'a', 'passing');
    t.renew('greet.Greeter', 'a', 'critical', 'failing again');
    advance(2999);
    assert.equal(t.sweep(), 0, 'the pass reset the clock');
    advance(1);
    assert.equal(t.sweep(), 1);
  });

  it('keeps a critical check without removeAfterCriticalMs forever', () => {
    const { table: t, advance } = table();
    t.upsert(instance('a'), 1000, { onExpiry: 'critical', health: 'critical' });
    advance(10 * 60_000);
    t.sweep();
    assert.equal(t.size, 1);
  });

  it('wakes a blocking query on the turn to critical', async () => {
    const { table: t, advance } = table();
    t.upsert(instance('a'), 1000, { onExpiry: 'critical' });
    const index = t.index;
    const woken = t.waitForChange('greet.Greeter', index, 5000);
    advance(1000);
    t.sweep();
    assert.equal(await woken, index + 1);
  });
});
