import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { cli, deadPort, inProcess } from './cli-runner.ts';
import { type GreeterCluster, startGreeterCluster } from './greeter-cluster.ts';

const PROTO = 'examples/greeter/greeter.proto';

describe('switchboard call by name', () => {
  let cluster: GreeterCluster;

  before(async () => {
    cluster = await startGreeterCluster(2);
  });
  after(() => cluster.close());
  beforeEach(() => {
    for (const g of cluster.greeters) for (const key of Object.keys(g.served)) delete g.served[key];
  });

  const served = () => cluster.greeters.map((g) => Object.values(g.served).reduce((a, b) => a + b, 0));

  it('calls through the hub with --hub, the contract by reflection over the same cluster', async () => {
    const res = await cli(['call', 'greet.Greeter/SayHello', '{"name":"John"}', '--hub', cluster.hubUrl]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { message: 'Hello, John!' });
    assert.equal(
      served().reduce((a, b) => a + b),
      1,
    );
  });

  it('spreads calls over the instances', async () => {
    for (let i = 0; i < 16; i++) {
      const res = await inProcess([
        'call',
        'greet.Greeter/SayHello',
        `{"name":"n${i}"}`,
        '--hub',
        cluster.hubUrl,
        '-p',
        PROTO,
      ]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal((JSON.parse(res.stdout) as { message: string }).message, `Hello, n${i}!`);
    }
    const [a = 0, b = 0] = served();
    assert.equal(a + b, 16);
    // Each call picks at random: both are chosen unless a 1 in 32 768 chance strikes.
    assert.ok(a > 0 && b > 0, `calls per instance: ${a}, ${b}`);
  });

  it('uses the native endpoints by default and --transport picks another', async () => {
    const byDefault = await inProcess([
      'call',
      'greet.Greeter/SayHello',
      '{"name":"x"}',
      '--hub',
      cluster.hubUrl,
    ]);
    assert.equal(byDefault.code, 0, byDefault.stderr);
    const http = await inProcess([
      'call',
      'greet.Greeter/SayHello',
      '{"name":"x"}',
      '--hub',
      cluster.hubUrl,
      '--transport',
      'http',
    ]);
    assert.equal(http.code, 0, http.stderr);
    const byTransport: Record<string, number> = {};
    for (const g of cluster.greeters) {
      for (const [t, n] of Object.entries(g.served)) byTransport[t] = (byTransport[t] ?? 0) + n;
    }
    assert.deepEqual(byTransport, { native: 1, http: 1 });
  });

  it('calls by name when SWITCHBOARD_HUB is set and there is no --target', async () => {
    const res = await cli(['call', 'greet.Greeter.SayHello', '{"name":"Env"}', '-p', PROTO], {
      SWITCHBOARD_HUB: cluster.hubUrl,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { message: 'Hello, Env!' });
  });

  it('keeps --target calls as they were, whatever SWITCHBOARD_HUB says', async () => {
    const grpc = cluster.greeters[1]?.server.addresses.grpc?.port;
    const res = await inProcess(
      ['call', 'greet.Greeter/SayHello', '{"name":"T"}', '-t', `127.0.0.1:${grpc}`],
      {
        SWITCHBOARD_HUB: `http://127.0.0.1:${await deadPort()}`,
      },
    );
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(served(), [0, 1]);
    assert.deepEqual(cluster.greeters[1]?.served, { grpc: 1 });
  });

  it('exits 1 for a service with no instances', async () => {
    for (const proto of [[], ['-p', PROTO]]) {
      const res = await inProcess(['call', 'x.Y/Do', '{}', '--hub', cluster.hubUrl, ...proto]);
      assert.equal(res.code, 1);
      assert.equal(
        res.stderr,
        `ERROR UNAVAILABLE: no instances of x.Y are registered with the hub at ${cluster.hubUrl}\n`,
      );
    }
  });

  it('exits 1 at once when the hub is unreachable', async () => {
    const port = await deadPort();
    const started = Date.now();
    const res = await inProcess([
      'call',
      'greet.Greeter/SayHello',
      '{}',
      '--hub',
      `http://127.0.0.1:${port}`,
    ]);
    assert.equal(res.code, 1);
    assert.equal(res.stderr, `ERROR UNAVAILABLE: hub at http://127.0.0.1:${port}: connection refused\n`);
    assert.ok(Date.now() - started < 3000, 'waited for a deadline instead of failing at once');
  });

  it('exits 2 for usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['call', 'greet.Greeter/SayHello', '-t', 'localhost:1', '--hub', cluster.hubUrl],
        /--target and --hub \(--consul, --eureka\) exclude each other/,
      ],
      [
        ['call', 'greet.Greeter/SayHello'],
        /--target host:port is required \(or --hub <url> to call by name\)/,
      ],
      [['call', 'greet.Greeter/SayHello', '--hub', 'ftp://x'], /--hub: hub url "ftp:\/\/x": expected http/],
      [
        ['call', 'greet.Greeter/SayHello', '--hub', cluster.hubUrl, '--transport', 'smtp'],
        /--transport must be one of/,
      ],
      [
        ['call', 'greet.Greeter/SayHello', '{', '--hub', cluster.hubUrl, '-p', PROTO],
        /the request is not JSON/,
      ],
    ];
    for (const [args, message] of cases) {
      const res = await inProcess(args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
    }
  });
});
