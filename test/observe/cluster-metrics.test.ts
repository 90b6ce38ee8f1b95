/**
 * Governance metrics from a real cluster: Echo instances on real sockets, a client by name
 * with clusterMetricsObserver as its `events`; retries, refused retries and ejections counted.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connect, type DiscoveryOptions } from '../../src/app/connect.ts';
import { Status } from '../../src/contract/index.ts';
import { InstanceTable, StaticRegistry } from '../../src/discovery/index.ts';
import { RetryBudget } from '../../src/governance/index.ts';
import { clusterMetricsObserver, Metrics, metricsInterceptors } from '../../src/observe/metrics/index.ts';
import { echoService, type FleetMember, startFleet, stopFleet } from '../fixtures/echo-fleet.ts';
import type { EchoService } from '../fixtures/echo-service.ts';
import { rejectsWith } from '../support/status.ts';
import { waitFor } from '../support/wait.ts';
import { sample } from './samples.ts';

describe('cluster governance metrics', { timeout: 30_000 }, () => {
  let registry: StaticRegistry;
  let fleet: FleetMember[] = [];
  let closers: (() => Promise<void>)[] = [];
  let metrics: Metrics;

  beforeEach(() => {
    registry = new StaticRegistry([], { table: new InstanceTable() });
    metrics = new Metrics();
  });
  afterEach(async () => {
    await Promise.all(closers.map((c) => c()));
    closers = [];
    await stopFleet(fleet);
    fleet = [];
    await registry.close();
  });

  function client(options: Partial<DiscoveryOptions> = {}) {
    const c = connect<EchoService>(echoService, {
      registry,
      transports: ['native'],
      events: clusterMetricsObserver(metrics),
      interceptors: [metricsInterceptors(metrics, { clientTransport: 'cluster' }).client],
      ...options,
    });
    closers.push(() => c.close());
    return c;
  }

  const service = { service: 'sb.test.Echo' };

  it('counts retries of idempotent calls, ejects the failing instance and ends its ejection on recovery', async () => {
    fleet = await startFleet(registry, 2, { transports: ['native'] });
    const bad = fleet[0]!;
    bad.failWith = Status.UNAVAILABLE;
    const echo = client({
      balancer: 'round_robin',
      outlier: { consecutiveFailures: 2, baseEjectionMs: 300 },
      retry: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 } },
    });
    for (let i = 0; i < 10; i++) await echo.default({ text: `m${i}` });
    const retries = await sample(metrics, 'switchboard_client_retries_total', {
      ...service,
      method: 'Default',
    });
    // Every call that hit the bad instance was retried, until it was ejected after 2 failures.
    assert.equal(retries, bad.calls, `retries ${retries}, calls to the failing instance ${bad.calls}`);
    assert.ok(retries >= 2, `only ${retries} retries`);
    assert.equal(await sample(metrics, 'switchboard_ejections_total', service), 1);
    assert.equal(await sample(metrics, 'switchboard_ejected_instances', service), 1);
    // The caller saw only successes: the client series has no failure.
    assert.equal(
      await sample(metrics, 'switchboard_client_requests_total', {
        ...service,
        method: 'Default',
        code: 'OK',
      }),
      10,
    );
    assert.equal(await sample(metrics, 'switchboard_client_requests_total', { code: 'UNAVAILABLE' }), 0);

    bad.failWith = undefined;
    await new Promise((resolve) => setTimeout(resolve, 350));
    // The ejection has run out: the next call probes the instance, its success restores it.
    await waitFor(async () => {
      await echo.default({ text: 'probe' });
      return (await sample(metrics, 'switchboard_ejected_instances', service)) === 0;
    }, 3000);
    assert.equal(await sample(metrics, 'switchboard_ejections_total', service), 1);
  });

  it('an instance that leaves while ejected, and a closed client, leave the gauge', async () => {
    fleet = await startFleet(registry, 3, { transports: ['native'] });
    fleet[0]!.failWith = Status.UNAVAILABLE;
    const echo = client({
      balancer: 'round_robin',
      outlier: { consecutiveFailures: 1, baseEjectionMs: 60_000 },
    });
    for (let i = 0; i < 6; i++) await echo.default({ text: `m${i}` });
    assert.equal(await sample(metrics, 'switchboard_ejected_instances', service), 1);
    const gone = fleet.shift()!;
    await gone.server.close(100);
    await waitFor(async () => (await sample(metrics, 'switchboard_ejected_instances', service)) === 0, 5000);

    fleet[0]!.failWith = Status.UNAVAILABLE;
    for (let i = 0; i < 6; i++) await echo.default({ text: `n${i}` });
    assert.equal(await sample(metrics, 'switchboard_ejected_instances', service), 1);
    await echo.close();
    assert.equal(await sample(metrics, 'switchboard_ejected_instances', service), 0);
    assert.equal(await sample(metrics, 'switchboard_ejections_total', service), 2);
  });

  it('counts a hedge as a retry', async () => {
    fleet = await startFleet(registry, 2, { transports: ['native'] });
    for (const member of fleet) member.delayMs = 150;
    const echo = client({ hedging: { maxAttempts: 2, delayMs: 20 } });
    await echo.default({ text: 'slow' });
    assert.equal(
      await sample(metrics, 'switchboard_client_retries_total', { ...service, method: 'Default' }),
      1,
    );
    // Unary (not idempotent) is never hedged.
    await echo.unary({ text: 'slow' });
    assert.equal(
      await sample(metrics, 'switchboard_client_retries_total', { ...service, method: 'Unary' }),
      0,
    );
  });

  it('counts the retries the budget refuses', async () => {
    fleet = await startFleet(registry, 1, { transports: ['native'] });
    fleet[0]!.failWith = Status.UNAVAILABLE;
    const echo = client({
      outlier: false,
      retry: { budget: new RetryBudget({ ratio: 0, minRetriesPerSecond: 0 }) },
    });
    for (let i = 0; i < 4; i++) await rejectsWith(echo.default({ text: 'x' }), Status.UNAVAILABLE);
    const labels = { ...service, method: 'Default' };
    assert.equal(await sample(metrics, 'switchboard_retry_budget_exhausted_total', labels), 4);
    assert.equal(await sample(metrics, 'switchboard_client_retries_total', labels), 0);
    assert.equal(
      await sample(metrics, 'switchboard_client_requests_total', {
        ...labels,
        code: 'UNAVAILABLE',
        transport: 'cluster',
      }),
      4,
    );
  });
});
