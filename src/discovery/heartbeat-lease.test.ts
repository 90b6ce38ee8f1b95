import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, waitFor } from '../../test/support/wait.ts';
import { HeartbeatLease, type Heartbeats } from './heartbeat-lease.ts';
import type { ServiceInstance } from './instance.ts';
import { InstanceTable } from './instance-table.ts';

const instance: ServiceInstance = {
  service: 'hb.Service',
  id: 'hb-1',
  endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 1 }],
  metadata: {},
};

/** An in-process registry server: an InstanceTable, with a switch that makes it unreachable. */
function tableServer(ttlMs: number) {
  const table = new InstanceTable();
  const calls: string[] = [];
  const errors: unknown[] = [];
  let down = false;
  const reach = (what: string) => {
    calls.push(what);
    if (down) throw new Error('unreachable');
  };
  const heartbeats: Heartbeats = {
    intervalMs: () => ttlMs / 3,
    renew: async () => {
      reach('renew');
      return table.renew(instance.service, instance.id);
    },
    register: async () => {
      reach('register');
      table.upsert(instance, ttlMs);
    },
    remove: async () => {
      reach('remove');
      table.remove(instance.service, instance.id);
    },
    onError: (err) => errors.push(err),
  };
  table.upsert(instance, ttlMs);
  return {
    table,
    calls,
    errors,
    heartbeats,
    setDown: (value: boolean) => {
      down = value;
    },
  };
}

describe('HeartbeatLease', () => {
  it('renews every interval, and registers again when the server forgot the instance', async () => {
    const server = tableServer(150);
    const lease = new HeartbeatLease(instance, server.heartbeats, () => {});
    try {
      await waitFor(() => server.calls.filter((c) => c === 'renew').length >= 2, 2000);
      assert.ok(!server.calls.includes('register'));
      server.table.remove(instance.service, instance.id);
      await waitFor(() => server.calls.includes('register'), 2000);
      assert.ok(server.table.get(instance.service, instance.id));
    } finally {
      await lease.deregister();
    }
    assert.equal(server.table.get(instance.service, instance.id), undefined);
  });

  it('retries a failed heartbeat sooner than the interval, and reports it', async () => {
    const server = tableServer(3000); // interval 1 s: a retry well within it shows the backoff
    server.setDown(true);
    const lease = new HeartbeatLease(instance, server.heartbeats, () => {});
    try {
      await waitFor(() => server.errors.length >= 1, 2000);
      const failedAt = Date.now();
      await waitFor(() => server.errors.length >= 2, 2000);
      assert.ok(Date.now() - failedAt < 900, 'the second try came before the interval');
      server.setDown(false);
      await waitFor(() => server.calls.length > server.errors.length, 2000); // one went through
    } finally {
      lease.abandon();
    }
  });

  it('keeps beating when its error handler throws', async () => {
    const server = tableServer(3000);
    server.setDown(true);
    let reports = 0;
    const heartbeats: Heartbeats = {
      ...server.heartbeats,
      onError: () => {
        reports++;
        throw new Error('a careless handler');
      },
    };
    const lease = new HeartbeatLease(instance, heartbeats, () => {});
    try {
      await waitFor(() => reports >= 2, 3000);
    } finally {
      lease.abandon();
    }
  });

  it('ends once: deregister shares one removal, abandon stops without one', async () => {
    const server = tableServer(150);
    let ended = 0;
    const lease = new HeartbeatLease(instance, server.heartbeats, () => ended++);
    const first = lease.deregister();
    assert.equal(lease.deregister(), first);
    await first;
    lease.abandon();
    assert.equal(ended, 1);
    assert.deepEqual(server.calls, ['remove']);

    const abandoned = new HeartbeatLease(instance, server.heartbeats, () => ended++);
    abandoned.abandon();
    await abandoned.deregister();
    await sleep(120);
    assert.equal(ended, 2);
    assert.deepEqual(server.calls, ['remove'], 'no heartbeat and no removal after abandon()');
  });

  it('removes the instance only after a heartbeat in flight', async () => {
    const server = tableServer(60);
    let release: () => void = () => {};
    const order: string[] = [];
    const heartbeats: Heartbeats = {
      ...server.heartbeats,
      renew: async () => {
        order.push('renew started');
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        order.push('renew done');
        return false; // forgotten: but the lease is over by then, so no registration
      },
      remove: async () => {
        order.push('remove');
      },
    };
    const lease = new HeartbeatLease(instance, heartbeats, () => {});
    await waitFor(() => order.length === 1);
    const removed = lease.deregister();
    await sleep(20);
    assert.deepEqual(order, ['renew started']);
    release();
    await removed;
    assert.deepEqual(order, ['renew started', 'renew done', 'remove']);
  });
});
