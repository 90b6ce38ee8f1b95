/**
 * Calls by name through a registry, over real servers on real sockets: balancing, failover,
 * safe retries, outlier ejection, zones and hedging, on every transport.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connect, type DiscoveryOptions, endpointTransport } from '../../src/app/connect.ts';
import { ClusterTransport } from '../../src/cluster/index.ts';
import { Status } from '../../src/contract/index.ts';
import { type Client, type ClientTransport, createClient } from '../../src/core/index.ts';
import { type Endpoint, InstanceTable, StaticRegistry } from '../../src/discovery/index.ts';
import { RetryBudget } from '../../src/governance/index.ts';
import { echoService, type FleetMember, startFleet, stopFleet } from '../fixtures/echo-fleet.ts';
import type { EchoService } from '../fixtures/echo-service.ts';
import { rejectsWith } from '../support/status.ts';
import { waitFor } from '../support/wait.ts';

/** Counts the calls that reach each endpoint's transport, to see where the cluster sent them. */
function countingConnector(counts: Map<number, number>): (endpoint: Endpoint) => ClientTransport {
  return (endpoint) => {
    const inner = endpointTransport(endpoint);
    return {
      name: inner.name,
      unary: (call, request) => {
        counts.set(endpoint.port, (counts.get(endpoint.port) ?? 0) + 1);
        return inner.unary(call, request);
      },
      stream: (call, requests) => inner.stream(call, requests),
      close: () => inner.close(),
    };
  };
}

function textsBy(replies: { text: string }[]): Map<string, number> {
  const by = new Map<string, number>();
  for (const r of replies) {
    const name = r.text.split(':')[0] ?? '';
    by.set(name, (by.get(name) ?? 0) + 1);
  }
  return by;
}

for (const transport of ['native', 'grpc', 'http'] as const) {
  describe(`calls by name over ${transport}`, () => {
    // A registry per test: a crashed instance stays registered until its lease runs out.
    let registry: StaticRegistry;
    let fleet: FleetMember[] = [];
    let closers: (() => Promise<void>)[] = [];

    beforeEach(() => {
      registry = new StaticRegistry([], { table: new InstanceTable() });
    });
    afterEach(async () => {
      await Promise.all(closers.map((c) => c()));
      closers = [];
      await stopFleet(fleet);
      fleet = [];
      await registry.close();
    });

    function client(options: Partial<DiscoveryOptions> = {}) {
      const c = connect<EchoService>(echoService, { registry, transports: [transport], ...options });
      closers.push(() => c.close());
      return c;
    }

    it('spreads calls over every instance', async () => {
      fleet = await startFleet(registry, 3);
      const echo = client({ balancer: 'round_robin' });
      const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => echo.unary({ text: `m${i}` })));
      const by = textsBy(replies);
      assert.deepEqual([...by.keys()].sort(), ['e0', 'e1', 'e2']);
      for (const n of by.values()) assert.ok(n >= 5, `uneven: ${JSON.stringify([...by])}`);
    });

    it('stops calling an instance once it deregisters', async () => {
      fleet = await startFleet(registry, 2);
      const echo = client();
      await Promise.all(Array.from({ length: 10 }, () => echo.unary({ text: 'warm' })));
      const gone = fleet[0]!;
      await gone.server.close(100);
      const before = gone.calls;
      const replies = await Promise.all(Array.from({ length: 20 }, () => echo.default({ text: 'after' })));
      assert.equal(gone.calls, before);
      assert.deepEqual([...textsBy(replies).keys()], ['e1']);
    });

    it('rides through a crashed instance: refused connections are retried elsewhere, even non-idempotent calls', async () => {
      fleet = await startFleet(registry, 3);
      const counts = new Map<number, number>();
      const cluster = new ClusterTransport({
        registry,
        service: echoService.fullName,
        connect: countingConnector(counts),
        transports: [transport],
        // Round robin meets the dead instance in the first batch, so the checks below always apply.
        balancer: 'round_robin',
      });
      closers.push(() => cluster.close());
      const echo: Client<EchoService> = createClient<EchoService>(echoService, cluster);
      await Promise.all(Array.from({ length: 12 }, () => echo.unary({ text: 'warm' })));
      const dead = fleet[2]!;
      const deadPort = dead.server.addresses[transport]!.port;
      const deadId = dead.server.leases[0]!.instance.id;
      for (const lease of dead.server.leases) lease.abandon(); // a crash: no deregistration
      await dead.server.close(0);
      const before = counts.get(deadPort) ?? 0;
      // Unary is not idempotent: only the refused connection makes its retry safe.
      const replies: { text: string }[] = [];
      let afterFirstFailure: number | undefined;
      for (let batch = 0; batch < 15; batch++) {
        replies.push(
          ...(await Promise.all(Array.from({ length: 4 }, (_, i) => echo.unary({ text: `c${batch}.${i}` })))),
        );
        const seen = (counts.get(deadPort) ?? 0) - before;
        if (afterFirstFailure === undefined && seen > 0) afterFirstFailure = seen;
      }
      assert.equal(replies.length, 60);
      assert.ok(!textsBy(replies).has('e2'));
      // Once a batch has met the dead instance, no later batch tries it.
      assert.equal((counts.get(deadPort) ?? 0) - before, afterFirstFailure ?? 0);
      assert.ok(afterFirstFailure !== undefined && afterFirstFailure <= 4, `attempts: ${afterFirstFailure}`);
      assert.deepEqual(cluster.ejected(), [deadId]);
    });

    it('retries an idempotent method on UNAVAILABLE, but not a non-idempotent one', async () => {
      fleet = await startFleet(registry, 2);
      fleet[0]!.failWith = Status.UNAVAILABLE;
      const echo = client({ balancer: 'round_robin', outlier: false });
      const idempotent = await Promise.all(Array.from({ length: 10 }, () => echo.default({ text: 'i' })));
      assert.deepEqual([...textsBy(idempotent).keys()], ['e1']);
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => echo.unary({ text: 'n' })));
      const failed = results.filter((r) => r.status === 'rejected');
      assert.ok(failed.length > 0, 'a non-idempotent call was retried after the server processed it');
    });

    it('ejects an instance that keeps failing and sends it nothing while ejected', async () => {
      fleet = await startFleet(registry, 3);
      fleet[1]!.failWith = Status.INTERNAL;
      // Round robin keeps sending it calls until ejection stops that (P2C would shy away sooner).
      const echo = client({
        balancer: 'round_robin',
        retry: false,
        outlier: { consecutiveFailures: 3, baseEjectionMs: 60_000 },
      });
      for (let batch = 0; batch < 15; batch++) {
        await Promise.allSettled(Array.from({ length: 4 }, () => echo.default({ text: 'x' })));
      }
      const before = fleet[1]!.calls;
      // Three failures in a row eject it; calls already on their way when it happened may add a few.
      assert.ok(before >= 3 && before <= 6, `the failing instance got ${before} calls`);
      const replies = await Promise.all(Array.from({ length: 30 }, () => echo.default({ text: 'y' })));
      assert.equal(fleet[1]!.calls, before);
      assert.ok(!textsBy(replies).has('e1'));
    });

    it('keeps retries within the budget', async () => {
      fleet = await startFleet(registry, 2);
      for (const m of fleet) m.failWith = Status.UNAVAILABLE;
      const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0 });
      const echo = client({ retry: { budget, maxAttempts: 5 }, outlier: false });
      await Promise.allSettled(Array.from({ length: 20 }, () => echo.default({ text: 'b' })));
      assert.equal(fleet[0]!.calls + fleet[1]!.calls, 20, 'no retry may happen with an empty budget');
    });

    it('prefers instances in its own zone while there are any', async () => {
      fleet = await startFleet(registry, 3, { zones: ['a', 'b', 'b'] });
      const echo = client({ zone: 'b' });
      const replies = await Promise.all(Array.from({ length: 30 }, () => echo.default({ text: 'z' })));
      assert.deepEqual([...textsBy(replies).keys()].sort(), ['e1', 'e2']);
    });

    it('hedges an idempotent call to a second instance when the first is slow', async () => {
      fleet = await startFleet(registry, 2);
      fleet[0]!.delayMs = 2000;
      const echo = client({
        balancer: 'round_robin',
        hedging: { delayMs: 50, maxAttempts: 2 },
        outlier: false,
      });
      const started = Date.now();
      const replies = await Promise.all(Array.from({ length: 4 }, () => echo.default({ text: 'h' })));
      assert.ok(Date.now() - started < 1500, `hedged calls took ${Date.now() - started} ms`);
      assert.deepEqual([...textsBy(replies).keys()], ['e1']);
    });

    it('ends a hedged call whose every attempt fails with the failure, and never hedges a non-idempotent call', async () => {
      fleet = await startFleet(registry, 2);
      for (const m of fleet) m.failWith = Status.UNAVAILABLE;
      const echo = client({ hedging: { delayMs: 20, maxAttempts: 3 }, outlier: false });
      await rejectsWith(echo.default({ text: 'all fail' }, { timeoutMs: 3000 }), Status.UNAVAILABLE);
      for (const m of fleet) {
        m.failWith = undefined;
        m.delayMs = 200;
      }
      const before = fleet[0]!.calls + fleet[1]!.calls;
      await echo.unary({ text: 'once' });
      assert.equal(fleet[0]!.calls + fleet[1]!.calls, before + 1);
    });

    it('skips an instance whose health checks fail, and takes it back once they pass', async () => {
      fleet = await startFleet(registry, 2);
      const sick = fleet[0]!;
      sick.server.health.setStatus(echoService.fullName, 'NOT_SERVING');
      const echo = client({
        balancer: 'round_robin',
        healthCheck: { intervalMs: 50, unhealthyThreshold: 1 },
      });
      await waitFor(async () => {
        const replies = await Promise.all(Array.from({ length: 6 }, () => echo.default({ text: 'h' })));
        return !textsBy(replies).has('e0');
      });
      const before = sick.calls;
      await Promise.all(Array.from({ length: 20 }, () => echo.default({ text: 'h' })));
      assert.equal(sick.calls, before);
      sick.server.health.setStatus(echoService.fullName, 'SERVING');
      await waitFor(async () => {
        await Promise.all(Array.from({ length: 6 }, () => echo.default({ text: 'h' })));
        return sick.calls > before;
      });
    });

    it('fails fast with UNAVAILABLE when no instance is registered', async () => {
      const echo = client({ name: 'sb.test.Nobody' });
      await rejectsWith(
        echo.default({ text: 'x' }, { timeoutMs: 2000 }),
        Status.UNAVAILABLE,
        /no instances of sb.test.Nobody/,
      );
    });

    it('streams from one instance', async () => {
      fleet = await startFleet(registry, 2);
      const echo = client();
      const got: number[] = [];
      for await (const r of echo.serverStream({ text: 's', count: 3 })) got.push(r.index);
      assert.deepEqual(got, [0, 1, 2]);
    });

    it('sees a new instance join', async () => {
      fleet = await startFleet(registry, 1);
      const echo = client({ balancer: 'round_robin' });
      await echo.default({ text: 'one' });
      fleet.push(...(await startFleet(registry, 1)));
      await waitFor(async () => {
        await echo.default({ text: 'two' });
        return fleet[1]!.calls > 0;
      });
    });
  });
}
