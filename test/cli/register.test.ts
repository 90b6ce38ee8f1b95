/**
 * `switchboard register` as the sidecar of a Python grpcio Greeter (a server with neither
 * reflection nor a health service): registered with a real hub, called by name, withdrawn on
 * SIGTERM or, with --check, when the server dies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HubRegistry } from '../../src/discovery/index.ts';
import { HubServer } from '../../src/hub/server.ts';
import { pythonWithGrpc, startPythonGreeter, stopPython } from '../support/python-greeter.ts';
import { serviceMissing } from '../support/services.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { cli, deadPort, inProcess, type RunningCli, startCli } from './cli-runner.ts';

const PROTO = 'examples/greeter/greeter.proto';

async function stopCli(running: RunningCli | undefined): Promise<void> {
  if (!running) return;
  if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
  await running.exit;
}

describe('switchboard register', {
  skip: await serviceMissing('python3 with grpcio', pythonWithGrpc),
}, () => {
  let hub: HubServer;
  let hubUrl = '';
  let registry: HubRegistry;

  before(async () => {
    hub = new HubServer({ port: 0 });
    hubUrl = `http://127.0.0.1:${(await hub.listen()).port}`;
    registry = new HubRegistry({ url: hubUrl });
  });
  after(async () => {
    await registry.close();
    await hub.close();
  });

  it('registers a Python grpcio Greeter, which is then called by name, until SIGTERM deregisters it', async () => {
    const python = await startPythonGreeter();
    let sidecar: RunningCli | undefined;
    try {
      sidecar = startCli([
        'register',
        'greet.Greeter',
        `grpc://127.0.0.1:${python.port}`,
        '--hub',
        hubUrl,
        '--meta',
        'lang=python',
        '--meta',
        'owner=team=a',
        '--version',
        '3.1',
        '--zone',
        'eu-1',
        // Long enough that the instance can only be gone through deregistration.
        '--ttl',
        '1m',
      ]);
      const running = sidecar;
      await waitFor(() => running.stdout().includes('registered'), 20_000);
      const id = `127.0.0.1-${python.port}`;
      assert.equal(
        sidecar.stdout(),
        `registered greet.Greeter ${id} at grpc://127.0.0.1:${python.port} with the hub at ${hubUrl} (ttl 60s)\n`,
      );
      assert.deepEqual(await registry.list('greet.Greeter'), [
        {
          service: 'greet.Greeter',
          id,
          endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: python.port }],
          version: '3.1',
          zone: 'eu-1',
          metadata: { lang: 'python', owner: 'team=a' },
        },
      ]);

      // grpcio has no health service: it answers, so it is up, but gives no verdict.
      const ls = await inProcess(['ls', 'greet.Greeter', '--hub', hubUrl]);
      assert.match(
        ls.stdout,
        /3\.1 +eu-1 +lang=python,owner=team=a +UNKNOWN \(no grpc\.health\.v1\.Health service\)\n$/,
      );

      // No reflection on a Python server: the contract comes from --proto.
      const call = await cli([
        'call',
        'greet.Greeter/SayHello',
        '{"name":"John"}',
        '--hub',
        hubUrl,
        '--proto',
        PROTO,
      ]);
      assert.equal(call.code, 0, call.stderr);
      assert.deepEqual(JSON.parse(call.stdout), { message: 'Hello, John!' });
      const reflected = await inProcess(['call', 'greet.Greeter/SayHello', '{}', '--hub', hubUrl]);
      assert.equal(reflected.code, 1);
      assert.equal(
        reflected.stderr,
        'ERROR UNIMPLEMENTED: the server does not serve reflection (Method not found!): give the contract with --proto\n',
      );

      sidecar.child.kill('SIGTERM');
      assert.equal(await sidecar.exit, 0, sidecar.stderr());
      assert.match(sidecar.stderr(), /SIGTERM, deregistering/);
      assert.deepEqual(await registry.list('greet.Greeter'), []);
      const after = await inProcess(['ls', '--hub', hubUrl]);
      assert.equal(after.stdout, `no services are registered with the hub at ${hubUrl}\n`);
    } finally {
      await stopCli(sidecar);
      await stopPython(python.child);
    }
  });

  it('with --check, withdraws the registration while the target is down', async () => {
    const python = await startPythonGreeter();
    let sidecar: RunningCli | undefined;
    try {
      sidecar = startCli([
        'register',
        'py.Greeter',
        `127.0.0.1:${python.port}`,
        '--hub',
        hubUrl,
        '--id',
        'py-1',
        '--ttl',
        '3s',
        '--check',
      ]);
      const running = sidecar;
      await waitFor(() => running.stdout().includes('registered py.Greeter py-1'), 20_000);
      assert.equal((await registry.list('py.Greeter')).length, 1);
      await stopPython(python.child);
      // Probes every second; two failures withdraw it, well before its 3 s lease could lapse.
      await waitFor(async () => (await registry.list('py.Greeter')).length === 0, 6000);
      assert.match(
        sidecar.stderr(),
        new RegExp(
          `grpc://127\\.0\\.0\\.1:${python.port} is UNREACHABLE \\(connection refused\\): deregistering`,
        ),
      );
      sidecar.child.kill('SIGINT');
      assert.equal(await sidecar.exit, 0, sidecar.stderr());
    } finally {
      await stopCli(sidecar);
      await stopPython(python.child);
    }
  });

  it('with --check, waits for a target that does not answer yet', async () => {
    const port = await deadPort();
    const sidecar = startCli(['register', 'late.Service', `127.0.0.1:${port}`, '--hub', hubUrl, '--check']);
    try {
      await waitFor(() => sidecar.stderr().includes('waiting for it to answer'), 20_000);
      assert.equal(sidecar.stdout(), '');
      assert.deepEqual(await registry.list('late.Service'), []);
      sidecar.child.kill('SIGTERM');
      assert.equal(await sidecar.exit, 0, sidecar.stderr());
    } finally {
      await stopCli(sidecar);
    }
  });

  it('exits 1 when the hub is gone by the time it should deregister', async () => {
    const doomed = new HubServer({ port: 0 });
    const url = `http://127.0.0.1:${(await doomed.listen()).port}`;
    // Without --check the target is not probed: registering a dead address works.
    const sidecar = startCli([
      'register',
      'gone.Service',
      `127.0.0.1:${await deadPort()}`,
      '--hub',
      url,
      '--ttl',
      '3s',
    ]);
    try {
      await waitFor(() => sidecar.stdout().includes('registered gone.Service'), 20_000);
      await doomed.close();
      // A heartbeat (every second) finds the hub gone and says so, once.
      await waitFor(() => sidecar.stderr().includes('connection refused (retrying)'), 5000);
      // Retries come 100, 200, 400, 800 ms apart: several fail meanwhile, none is reported again.
      await sleep(1500);
      sidecar.child.kill('SIGTERM');
      assert.equal(await sidecar.exit, 1);
      assert.match(
        sidecar.stderr(),
        new RegExp(
          `ERROR UNAVAILABLE: could not deregister 127\\.0\\.0\\.1-\\d+ of gone\\.Service: hub at ${url}: connection refused \\(its lease ends within 3s\\)\n$`,
        ),
      );
      // At most a dropped connection besides the refusals.
      assert.ok((sidecar.stderr().match(/\(retrying\)/g)?.length ?? 0) <= 2, sidecar.stderr());
    } finally {
      await stopCli(sidecar);
      await doomed.close();
    }
  });

  it('exits 1 when the hub is unreachable', async () => {
    const port = await deadPort();
    const res = await inProcess([
      'register',
      'greet.Greeter',
      'grpc://127.0.0.1:50051',
      '--hub',
      `http://127.0.0.1:${port}`,
    ]);
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.equal(res.stderr, `ERROR UNAVAILABLE: hub at http://127.0.0.1:${port}: connection refused\n`);
  });

  it('exits 2 for malformed targets, ttls, metadata and ids', async () => {
    const base = ['register', 'usage.Test'];
    const cases: [string[], RegExp][] = [
      [['register'], /which service\?/],
      [base, /where does usage\.Test answer\?/],
      [[...base, 'localhost'], /invalid target: endpoint "localhost": expected scheme:\/\/host:port/],
      [[...base, 'ftp://h:21'], /invalid target: endpoint "ftp:\/\/h:21": unknown scheme ftp:\/\//],
      [[...base, 'grpc://h:70000'], /invalid target: .*port: expected an integer from 1 to 65535/],
      [[...base, 'grpc://h:1', 'grpc://h'], /invalid target: endpoint "grpc:\/\/h"/],
      [
        [...base, 'h:1', '--ttl', '10x'],
        /--ttl: expected a duration from 1s to 5m like 10s or 1m, got "10x"/,
      ],
      [[...base, 'h:1', '--ttl', '500ms'], /--ttl: expected a duration from 1s to 5m/],
      [[...base, 'h:1', '--ttl', '6m'], /--ttl: expected a duration from 1s to 5m/],
      [[...base, 'h:1', '--ttl', ''], /--ttl: expected a duration/],
      [[...base, 'h:1', '--meta', 'novalue'], /--meta takes key=value, not "novalue"/],
      [[...base, 'h:1', '--meta', '=v'], /--meta takes key=value, not "=v"/],
      [[...base, 'h:1', '--meta', `k=${'v'.repeat(2000)}`], /--meta\.k: longer than 1024 characters/],
      [[...base, 'h:1', '--id', 'has space'], /--id: "has space" may hold only letters, digits/],
      [['register', 'bad name', 'h:1'], /service: "bad name" is not a valid service name/],
      [
        [...base, 'h:1', '--hub', 'http://a', '--eureka', 'http://b'],
        /--hub and --eureka exclude each other/,
      ],
      [[...base, 'h:1', '--hub', 'not a url'], /--hub: hub url "not a url"/],
      [[...base, 'h:1', '--check=yes'], /--check/],
    ];
    for (const [args, message] of cases) {
      const res = await inProcess(args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
      assert.match(res.stderr, /Run 'switchboard register --help' for usage/);
    }
    assert.deepEqual(await registry.list('usage.Test'), []);
  });
});
