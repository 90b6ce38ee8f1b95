/**
 * Ejections reach the dashboard: a real hub, real Echo servers registered with it, and a
 * client by name with `observe` pointing at the hub and aggressive outlier detection. The
 * instance it ejects shows `ejected: true` in the hub's snapshot, and false once it recovers
 * or leaves. With the hub gone, calls go on and the failure is logged.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connect, type DiscoveryOptions } from '../../src/app/connect.ts';
import { Observability } from '../../src/app/observability.ts';
import { Status } from '../../src/contract/index.ts';
import { HubRegistry, InstanceTable, type Registry, StaticRegistry } from '../../src/discovery/index.ts';
import { HubServer } from '../../src/hub/server.ts';
import { echoService, type FleetMember, startFleet, stopFleet } from '../fixtures/echo-fleet.ts';
import type { EchoService } from '../fixtures/echo-service.ts';
import { sleep, waitFor } from '../support/wait.ts';

interface SnapshotInstance {
  id: string;
  ejected: boolean;
  endpoints: { transport: string; port: number }[];
}

describe('ejection reports to the hub', { timeout: 30_000 }, () => {
  let hub: HubServer;
  let registry: Registry;
  let fleet: FleetMember[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    hub = new HubServer({ port: 0 });
    await hub.listen();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await stopFleet(fleet);
    fleet = [];
    await registry?.close();
    await hub.close();
  });

  function observe(options: ConstructorParameters<typeof Observability>[0] = {}): Observability {
    const o = new Observability({
      service: 'caller',
      hubUrl: hub.url,
      tracing: false,
      processMetrics: false,
      logLevel: 'silent',
      ...options,
    });
    closers.push(() => o.shutdown());
    return o;
  }

  function client(observability: Observability, options: Partial<DiscoveryOptions>) {
    const c = connect<EchoService>(echoService, {
      registry,
      transports: ['native'],
      balancer: 'round_robin',
      retry: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 } },
      observe: observability,
      ...options,
    });
    closers.push(() => c.close());
    return c;
  }

  async function snapshotInstances(): Promise<SnapshotInstance[]> {
    const res = await fetch(`${hub.url}/api/v1/dashboard/snapshot`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { services: { name: string; instances: SnapshotInstance[] }[] };
    return body.services.find((s) => s.name === 'sb.test.Echo')?.instances ?? [];
  }

  /** The snapshot's entry for a fleet member, found by its native port. */
  async function shown(member: FleetMember): Promise<SnapshotInstance | undefined> {
    const port = member.server.addresses.native?.port;
    return (await snapshotInstances()).find((i) => i.endpoints.some((e) => e.port === port));
  }

  async function ejectedShown(member: FleetMember, ejected: boolean): Promise<boolean> {
    return (await shown(member))?.ejected === ejected;
  }

  it('shows an instance ejected while a caller has it out, and back after it recovers', async () => {
    registry = new HubRegistry({ url: hub.url });
    fleet = await startFleet(registry, 2, { transports: ['native'] });
    await waitFor(async () => (await snapshotInstances()).length === 2, 5000);
    const [bad, good] = fleet as [FleetMember, FleetMember];
    bad.failWith = Status.UNAVAILABLE;
    const echo = client(observe(), { outlier: { consecutiveFailures: 2, baseEjectionMs: 300 } });

    for (let i = 0; i < 10; i++) await echo.default({ text: `m${i}` });
    await waitFor(() => ejectedShown(bad, true), 3000);
    assert.equal((await shown(good))?.ejected, false, 'the healthy instance is not shown ejected');
    const badId = (await shown(bad))?.id ?? '';
    assert.deepEqual(hub.telemetry.ejections.ejectedBy(badId), ['caller'], 'reported under the service name');

    bad.failWith = undefined;
    await sleep(350);
    // The ejection has run out: a call probes the instance, its success ends the ejection.
    await waitFor(async () => {
      await echo.default({ text: 'probe' });
      return ejectedShown(bad, false);
    }, 5000);
    // Well before the hub's 60 s expiry: the caller reported the end.
    assert.equal(hub.telemetry.ejections.isEjected(badId), false);
  });

  it('reports the end when the ejected instance leaves the registry', async () => {
    registry = new HubRegistry({ url: hub.url });
    fleet = await startFleet(registry, 3, { transports: ['native'] });
    await waitFor(async () => (await snapshotInstances()).length === 3, 5000);
    const bad = fleet[0] as FleetMember;
    bad.failWith = Status.UNAVAILABLE;
    const echo = client(observe(), { outlier: { consecutiveFailures: 1, baseEjectionMs: 60_000 } });

    for (let i = 0; i < 6; i++) await echo.default({ text: `m${i}` });
    await waitFor(() => ejectedShown(bad, true), 3000);
    const badId = (await shown(bad))?.id ?? '';

    fleet.shift();
    await bad.server.close(100);
    await waitFor(() => !hub.telemetry.ejections.isEjected(badId), 5000);
    assert.equal(await shown(bad), undefined, 'the instance has left the snapshot');
    assert.equal((await echo.default({ text: 'after' })).text.endsWith(':after'), true);
  });

  it('with the hub down, calls keep working and the failure is logged', async () => {
    const lines: string[] = [];
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const gone = new HubServer({ port: 0 });
    await gone.listen();
    const hubUrl = gone.url;
    await gone.close();
    registry = new StaticRegistry([], { table: new InstanceTable() });
    fleet = await startFleet(registry, 2, { transports: ['native'] });
    const bad = fleet[0] as FleetMember;
    bad.failWith = Status.UNAVAILABLE;
    const echo = client(observe({ hubUrl, logLevel: 'warn', logDestination: logs }), {
      outlier: { consecutiveFailures: 1, baseEjectionMs: 60_000 },
    });

    for (let i = 0; i < 10; i++) {
      const reply = await echo.default({ text: `m${i}` });
      assert.equal(reply.text, `e1:m${i}`);
    }
    await waitFor(() => lines.some((l) => l.includes('ejection report to the hub failed')), 5000);
    const line = JSON.parse(lines.find((l) => l.includes('ejection report')) ?? '{}') as {
      level: string;
      err?: { message?: string };
    };
    assert.equal(line.level, 'warn');
    assert.match(line.err?.message ?? '', /could not report instance .+ ejected to the hub/);
  });
});
