import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HubRegistry } from '../../src/discovery/index.ts';
import { HubServer } from '../../src/hub/server.ts';
import { cli, deadPort, inProcess } from './cli-runner.ts';
import { type GreeterCluster, startGreeterCluster } from './greeter-cluster.ts';

interface LsInstance {
  id: string;
  endpoints: string[];
  version?: string;
  zone?: string;
  metadata: Record<string, string>;
  health: { status: string; endpoint: string; detail?: string };
}

describe('switchboard ls', () => {
  let cluster: GreeterCluster;
  let registry: HubRegistry;

  before(async () => {
    cluster = await startGreeterCluster(2);
    registry = new HubRegistry({ url: cluster.hubUrl });
  });
  after(async () => {
    await registry.close();
    await cluster.close();
  });

  it('says so when nothing is registered', async () => {
    const empty = new HubServer({ port: 0 });
    const { port } = await empty.listen();
    try {
      const text = await inProcess(['ls', '--hub', `http://127.0.0.1:${port}`]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stdout, `no services are registered with the hub at http://127.0.0.1:${port}\n`);
      const json = await inProcess(['ls', '--hub', `http://127.0.0.1:${port}`, '--json']);
      assert.deepEqual(JSON.parse(json.stdout), { services: [] });
    } finally {
      await empty.close();
    }
  });

  it('lists the services with their instance counts, as an aligned table', async () => {
    const res = await cli(['ls', '--hub', cluster.hubUrl]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'SERVICE        INSTANCES\ngreet.Greeter  2\n');
    const json = await inProcess(['ls', '--json', '--hub', cluster.hubUrl]);
    assert.deepEqual(JSON.parse(json.stdout), { services: [{ name: 'greet.Greeter', instances: 2 }] });
  });

  it("lists one service's instances with every field, each probed SERVING", async () => {
    const res = await inProcess(['ls', 'greet.Greeter', '--hub', cluster.hubUrl]);
    assert.equal(res.code, 0, res.stderr);
    const [header, ...rows] = res.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^ID +ENDPOINTS +VERSION +ZONE +METADATA +HEALTH$/);
    assert.equal(rows.length, 2);
    // Columns line up: every row has its VERSION where the header has it.
    const versionAt = header?.indexOf('VERSION') ?? -1;
    for (const row of rows) assert.equal(row.slice(versionAt, versionAt + 5), '1.2.0', row);
    for (const [i, greeter] of cluster.greeters.entries()) {
      const row = rows.find((r) => r.startsWith(greeter.id));
      assert.ok(row, `no row for ${greeter.id} in\n${res.stdout}`);
      const native = greeter.server.addresses.native?.port;
      assert.match(
        row,
        new RegExp(`native://127\\.0\\.0\\.1:${native},grpc://127\\.0\\.0\\.1:\\d+,http://127`),
      );
      assert.match(row, new RegExp(`  zone-${i}  +team=greeters  +SERVING$`));
    }
  });

  it('prints machine-readable JSON with --json', async () => {
    const res = await inProcess(['ls', 'greet.Greeter', '--hub', cluster.hubUrl, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const body = JSON.parse(res.stdout) as { service: string; instances: LsInstance[] };
    assert.equal(body.service, 'greet.Greeter');
    const expected = cluster.greeters
      .map((g, i) => {
        const a = g.server.addresses;
        const endpoints = [
          `native://127.0.0.1:${a.native?.port}`,
          `grpc://127.0.0.1:${a.grpc?.port}`,
          `http://127.0.0.1:${a.http?.port}`,
        ];
        return {
          id: g.id,
          endpoints,
          version: '1.2.0',
          zone: `zone-${i}`,
          metadata: { team: 'greeters' },
          health: { status: 'SERVING', endpoint: endpoints[0] },
        };
      })
      .sort((x, y) => x.id.localeCompare(y.id));
    assert.deepEqual(body.instances, expected);
  });

  it('shows an instance at a dead port UNREACHABLE, and probes HTTP-only ones with GET /healthz', async () => {
    const dead = await deadPort();
    const http = cluster.greeters[0]?.server.addresses.http?.port;
    const leases = await Promise.all([
      registry.register({
        service: 'greet.Greeter',
        id: 'dead-1',
        endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: dead }],
        metadata: {},
      }),
      registry.register({
        service: 'web.Api',
        id: 'web-1',
        endpoints: [{ transport: 'http', host: '127.0.0.1', port: http ?? 0 }],
        metadata: {},
      }),
      registry.register({
        service: 'web.Api',
        id: 'web-2',
        endpoints: [{ transport: 'http', host: '127.0.0.1', port: dead }],
        metadata: {},
      }),
    ]);
    try {
      const greeters = await inProcess(['ls', 'greet.Greeter', '--hub', cluster.hubUrl]);
      assert.equal(greeters.code, 0, greeters.stderr);
      assert.match(
        greeters.stdout,
        new RegExp(`\\ndead-1 +grpc://127\\.0\\.0\\.1:${dead} .*UNREACHABLE \\(connection refused\\)\\n`),
      );
      assert.equal(greeters.stdout.match(/ SERVING\n/g)?.length, 2, greeters.stdout);
      const web = await inProcess(['ls', 'web.Api', '--json', '--hub', cluster.hubUrl]);
      const health = (JSON.parse(web.stdout) as { instances: LsInstance[] }).instances.map((i) => i.health);
      assert.deepEqual(health, [
        { status: 'SERVING', endpoint: `http://127.0.0.1:${http}` },
        { status: 'UNREACHABLE', endpoint: `http://127.0.0.1:${dead}`, detail: 'connection refused' },
      ]);
      const services = await inProcess(['ls', '--hub', cluster.hubUrl]);
      assert.equal(services.stdout, 'SERVICE        INSTANCES\ngreet.Greeter  3\nweb.Api        2\n');
    } finally {
      await Promise.all(leases.map((l) => l.deregister()));
    }
  });

  it('escapes control characters that come from the registry', async () => {
    const lease = await registry.register({
      service: 'odd.Service',
      id: 'odd-1',
      endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: await deadPort() }],
      zone: 'z\u001b[2J',
      metadata: { note: 'red\u001b[31m\nline' },
    });
    try {
      const res = await inProcess(['ls', 'odd.Service', '--hub', cluster.hubUrl]);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(!res.stdout.includes('\u001b'), 'an escape character reached the output');
      assert.match(res.stdout, /z\\u001b\[2J +note=red\\u001b\[31m\\u000aline +UNREACHABLE/);
      assert.equal(res.stdout.split('\n').length, 3, res.stdout);
    } finally {
      await lease.deregister();
    }
  });

  it('reads the same registry through its Consul and Eureka APIs', async () => {
    const consul = await inProcess(['ls', '--consul', cluster.hubUrl]);
    assert.equal(consul.code, 0, consul.stderr);
    assert.equal(consul.stdout, 'SERVICE        INSTANCES\ngreet.Greeter  2\n');
    const eureka = await inProcess(['ls', 'greet.Greeter', '--json', '--eureka', `${cluster.hubUrl}/eureka`]);
    assert.equal(eureka.code, 0, eureka.stderr);
    const instances = (JSON.parse(eureka.stdout) as { instances: LsInstance[] }).instances;
    assert.deepEqual(
      instances.map((i) => [i.id, i.health.status]),
      cluster.greeters.map((g) => [g.id, 'SERVING']).sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  });

  it('says when a service has no instances, and exits 0', async () => {
    const res = await inProcess(['ls', 'no.Such', '--hub', cluster.hubUrl]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `no instances of no.Such are registered with the hub at ${cluster.hubUrl}\n`);
    const json = await inProcess(['ls', 'no.Such', '--hub', cluster.hubUrl, '--json']);
    assert.deepEqual(JSON.parse(json.stdout), { service: 'no.Such', instances: [] });
  });

  it('finds the hub through SWITCHBOARD_HUB', async () => {
    const res = await inProcess(['ls'], { SWITCHBOARD_HUB: cluster.hubUrl });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /greet\.Greeter {2}2/);
  });

  it('exits 1 when the hub is unreachable', async () => {
    const port = await deadPort();
    const res = await inProcess(['ls', '--hub', `http://127.0.0.1:${port}`]);
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.equal(res.stderr, `ERROR UNAVAILABLE: hub at http://127.0.0.1:${port}: connection refused\n`);
  });

  it('exits 2 for usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['ls', 'a.B', 'c.D'], /unexpected argument "c\.D"/],
      [['ls', '--timeout', 'soon'], /--timeout takes a number of milliseconds/],
      [['ls', '--hub', 'localhost:7070'], /--hub: hub url "localhost:7070": expected http/],
      [['ls', '--hub', 'http://a', '--consul', 'http://b'], /--hub and --consul exclude each other/],
      [['ls', '--verbose'], /Unknown option '--verbose'/],
    ];
    for (const [args, message] of cases) {
      const res = await inProcess(args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.match(res.stderr, /Run 'switchboard ls --help' for usage/);
    }
    const help = await inProcess(['ls', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: switchboard ls \[service\]/);
  });
});
