import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceInstance } from './instance.ts';
import { type Lease, RegistryError } from './registry.ts';
import { RegistryHoldings } from './registry-holdings.ts';

const instance: ServiceInstance = {
  service: 'held.Service',
  id: 'h-1',
  endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 1 }],
  metadata: {},
};

function lease(events: string[], name: string, fails = false): Lease {
  return {
    instance,
    deregister: async () => {
      events.push(`deregister ${name}`);
      if (fails) throw new Error(`${name} unreachable`);
    },
    abandon: () => events.push(`abandon ${name}`),
  };
}

describe('RegistryHoldings', () => {
  it('closes the watches first, then deregisters the leases, and reports what failed', async () => {
    const events: string[] = [];
    const held = new RegistryHoldings('closed');
    await held.hold(lease(events, 'a'));
    await held.hold(lease(events, 'b', true));
    held.watch({ close: () => events.push('close w') });
    const failures = await held.close();
    assert.deepEqual(events, ['close w', 'deregister a', 'deregister b']);
    assert.deepEqual(
      failures.map((e) => (e as Error).message),
      ['b unreachable'],
    );
    assert.deepEqual(await held.close(), [], 'a second close has nothing left');
    assert.equal(events.length, 3);
  });

  it('forgets released leases and closed watches', async () => {
    const events: string[] = [];
    const held = new RegistryHoldings('closed');
    const a = await held.hold(lease(events, 'a'));
    held.release(a);
    const watch = held.watch({ close: () => events.push('close w') });
    watch.close();
    await held.close();
    assert.deepEqual(events, ['close w']);
  });

  it('refuses new work once closed, and deregisters a registration that finished too late', async () => {
    const events: string[] = [];
    const held = new RegistryHoldings('the test registry is closed');
    await held.close();
    assert.throws(() => held.assertOpen(), RegistryError);
    assert.throws(() => held.watch({ close: () => {} }), /the test registry is closed/);
    await assert.rejects(held.hold(lease(events, 'late', true)), RegistryError);
    assert.deepEqual(events, ['deregister late']);
  });
});
