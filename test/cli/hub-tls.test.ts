/**
 * `switchboard hub --tls-cert/--tls-key/--tls-ca` (HTTPS and a TLS broker port, clients must
 * show a certificate the CA signed) and the clients' --tls-* flags, through the real command
 * line with certificates from `switchboard certs`; and `hub --max-connections`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GREETER_PROTO, type GreeterService, greeter } from '../../examples/greeter/greeter.ts';
import { Server } from '../../src/app/index.ts';
import { loadContract } from '../../src/contract/index.ts';
import { HubRegistry } from '../../src/discovery/index.ts';
import { waitFor } from '../support/wait.ts';
import { cli, inProcess, type RunningCli, startCli } from './cli-runner.ts';

/**
 * Starts `switchboard hub` on free ports; resolves once it listens, with its URL and broker
 * port ("" with --broker-port off).
 */
async function startHub(args: string[]): Promise<{ hub: RunningCli; url: string; broker: string }> {
  const brokerOff = args.includes('off');
  // Killed after 2 minutes at the latest: the hub outlives several slow client commands.
  const hub = startCli(
    ['hub', '--port', '0', ...(brokerOff ? [] : ['--broker-port', '0']), ...args],
    {},
    120_000,
  );
  const started = brokerOff ? /listening on \S+\n/ : /broker on \S+/;
  try {
    await waitFor(() => started.test(hub.stdout()) || hub.child.exitCode !== null, 20_000);
  } catch (err) {
    hub.child.kill('SIGKILL');
    throw err;
  }
  const url = /listening on (\S+)/.exec(hub.stdout())?.[1];
  const broker = /broker on (\S+)/.exec(hub.stdout())?.[1] ?? '';
  assert.ok(url && (brokerOff || broker), `the hub started: ${hub.stdout()}${hub.stderr()}`);
  return { hub, url, broker };
}

async function stopHub(hub: RunningCli): Promise<void> {
  hub.child.kill('SIGTERM');
  assert.equal(await hub.exit, 0, hub.stderr());
}

describe('switchboard hub with TLS flags, and clients with theirs', () => {
  let dir: string;
  let certs: string;
  let clientFlags: string[];
  let caFlag: string[];
  let hub: RunningCli;
  let url: string;
  let broker: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-hub-tls-'));
    certs = path.join(dir, 'certs');
    for (const args of [['init'], ['issue', 'hub'], ['issue', 'cli']]) {
      const made = await inProcess(['certs', ...args, '--dir', certs]);
      assert.equal(made.code, 0, made.stderr);
    }
    const file = (name: string) => path.join(certs, name);
    caFlag = ['--tls-ca', file('ca.crt')];
    clientFlags = ['--tls-cert', file('cli.crt'), '--tls-key', file('cli.key'), ...caFlag];
    ({ hub, url, broker } = await startHub([
      '--tls-cert',
      file('hub.crt'),
      '--tls-key',
      file('hub.key'),
      ...caFlag,
    ]));
  });

  after(async () => {
    if (hub) await stopHub(hub);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves https:// and says that clients must show a certificate', () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(hub.stdout(), /clients must show a certificate signed by .*ca\.crt/);
  });

  it('ls: answered with a client certificate; refused without one, exit 1 and a hint', async () => {
    const ok = await cli(['ls', '--hub', url, ...clientFlags, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { services: [] });
    const noCert = await cli(['ls', '--hub', url, ...caFlag]);
    assert.equal(noCert.code, 1);
    assert.match(noCert.stderr, /^ERROR UNAVAILABLE: hub at https:\/\/127\.0\.0\.1:\d+: /);
    assert.match(noCert.stderr, /client certificate signed by its CA: --tls-cert and --tls-key/);
    const noCa = await inProcess([
      'ls',
      '--hub',
      url,
      '--tls-cert',
      clientFlags[1] as string,
      '--tls-key',
      clientFlags[3] as string,
    ]);
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /certificate.*--tls-ca/);
  });

  it('publish: through the HTTPS port and straight to the TLS broker port with a certificate; refused without', async () => {
    const viaHub = await cli(['publish', 'tls.events', '{"n":1}', '--hub', url, ...clientFlags]);
    assert.equal(viaHub.code, 0, viaHub.stderr);
    assert.match(viaHub.stdout, /^published tls\.events id=\S+ position=1 /);
    const viaPort = await inProcess([
      'publish',
      'tls.events',
      '{"n":2}',
      '--broker',
      `hub://${broker}`,
      ...clientFlags,
    ]);
    assert.equal(viaPort.code, 0, viaPort.stderr);
    assert.match(viaPort.stdout, /position=2 /);
    const refused = await inProcess(['publish', 'tls.events', '{"n":3}', '--hub', url, ...caFlag]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--tls-cert and --tls-key/);
  });

  it('usage errors (exit 2): a lone --tls-cert, a missing file, a non-https hub, another registry', async () => {
    const lone = await inProcess(['ls', '--hub', url, '--tls-cert', clientFlags[1] as string]);
    assert.equal(lone.code, 2);
    assert.match(lone.stderr, /--tls-cert and --tls-key go together/);
    const missing = await inProcess(['ls', '--hub', url, '--tls-ca', path.join(dir, 'nope.crt')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--tls-ca: no file .*nope\.crt/);
    const plain = await inProcess(['ls', '--hub', url.replace('https:', 'http:'), ...clientFlags]);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /need an https:\/\/ hub, but --hub is http:/);
    const consul = await inProcess(['ls', '--consul', 'http://127.0.0.1:8500', ...caFlag]);
    assert.equal(consul.code, 2);
    assert.match(consul.stderr, /are for the hub, not --consul/);
    const notPem = await inProcess([
      'publish',
      't',
      '{}',
      '--hub',
      url,
      '--tls-ca',
      clientFlags[3] as string,
    ]);
    assert.equal(notPem.code, 2);
    assert.match(notPem.stderr, /cli\.key/);
    const hubKeyless = await inProcess(['hub', '--tls-cert', clientFlags[1] as string]);
    assert.equal(hubKeyless.code, 2);
    assert.match(hubKeyless.stderr, /--tls-cert and --tls-key go together/);
    const hubCaOnly = await inProcess(['hub', ...caFlag]);
    assert.equal(hubCaOnly.code, 2);
    assert.match(hubCaOnly.stderr, /need --tls-cert and --tls-key/);
  });

  it('--tls-optional-client-cert: clients without a certificate are let in', async () => {
    const file = (name: string) => path.join(certs, name);
    const optional = await startHub([
      '--broker-port',
      'off',
      '--tls-cert',
      file('hub.crt'),
      '--tls-key',
      file('hub.key'),
      ...caFlag,
      '--tls-optional-client-cert',
    ]);
    try {
      await waitFor(() => /clients may show a certificate/.test(optional.hub.stdout()));
      const anonymous = await inProcess(['ls', '--hub', optional.url, ...caFlag, '--json']);
      assert.equal(anonymous.code, 0, anonymous.stderr);
      const withCert = await inProcess(['ls', '--hub', optional.url, ...clientFlags, '--json']);
      assert.equal(withCert.code, 0, withCert.stderr);
    } finally {
      await stopHub(optional.hub);
    }
  });

  it('--help of hub, publish and subscribe names the TLS flags', async () => {
    for (const command of ['hub', 'publish', 'subscribe']) {
      const help = await inProcess([command, '--help']);
      for (const flag of ['--tls-cert <file>', '--tls-key <file>', '--tls-ca <file>']) {
        assert.ok(help.stdout.includes(flag), `${command} --help names ${flag}`);
      }
    }
    const hubHelp = await inProcess(['hub', '--help']);
    assert.match(hubHelp.stdout, /--tls-optional-client-cert/);
    assert.match(hubHelp.stdout, /--max-connections <n>.*\n.*\(default 4096\)/);
  });

  it('call --hub: the --tls-* flags reach the hub and the mutual-TLS instances it lists', async () => {
    const file = (name: string) => path.join(certs, name);
    const issued = await inProcess(['certs', 'issue', 'greeter', '--dir', certs]);
    assert.equal(issued.code, 0, issued.stderr);
    const serverTls = { certFile: file('greeter.crt'), keyFile: file('greeter.key'), caFile: file('ca.crt') };
    const callers: string[] = [];
    const service = (await loadContract(GREETER_PROTO)).service('greet.Greeter');
    const server = new Server({ native: { port: 0 }, tls: serverTls }).add<GreeterService>(service, {
      sayHello(req, ctx) {
        callers.push(ctx.identity?.commonName ?? 'nobody');
        return greeter.sayHello!(req, ctx);
      },
    });
    await server.listen();
    const registry = new HubRegistry({ url, tls: serverTls });
    try {
      await server.register({ registry, deregisterDelayMs: 0 });
      const args = ['call', 'greet.Greeter/SayHello', '{"name":"TLS"}', '--hub', url, '-p', GREETER_PROTO];
      const ok = await inProcess([...args, ...clientFlags]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(JSON.parse(ok.stdout), { message: 'Hello, TLS!' });
      assert.deepEqual(callers, ['cli'], 'the instance saw the certificate of the CLI');
    } finally {
      await server.close(0);
      await registry.close();
    }
  });
});

describe('switchboard hub --max-connections', () => {
  it('closes a connection over the limit at once; a bad count is a usage error', async () => {
    const bad = await inProcess(['hub', '--max-connections', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-connections: expected a whole number >= 1, got "0"/);
    const hub = startCli(['hub', '--port', '0', '--broker-port', 'off', '--max-connections', '1']);
    const sockets: net.Socket[] = [];
    try {
      await waitFor(() => /listening on http:\/\//.test(hub.stdout()), 20_000);
      const port = Number(/listening on http:\/\/[\d.]+:(\d+)/.exec(hub.stdout())?.[1]);
      const connect = async () => {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.on('error', () => {});
        sockets.push(socket);
        await new Promise((resolve) => socket.once('connect', resolve));
        return socket;
      };
      const first = await connect();
      first.write('GET /healthz HTTP/1.1\r\nhost: hub\r\n\r\n');
      let answer = '';
      first.on('data', (d: Buffer) => {
        answer += d.toString('utf8');
      });
      await waitFor(() => answer.startsWith('HTTP/1.1 200'), 10_000);
      const second = await connect();
      let secondClosed = false;
      second.once('close', () => {
        secondClosed = true;
      });
      await waitFor(() => secondClosed, 5000);
      assert.equal(first.destroyed, false, 'the first connection is kept');
      await waitFor(() => /maxConnections/.test(hub.stderr()), 5000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await stopHub(hub);
    }
  });
});
