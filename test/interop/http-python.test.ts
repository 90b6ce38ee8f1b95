/**
 * HTTP/REST interop with Python (Debian's /usr/bin/python3) on the reference Greeter, both
 * ways: the reference `requests` client calls HttpServer, and HttpClientTransport calls a
 * Flask app (a third-party REST service) with `POST /api/hello`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadContractSync, type Metadata, Status } from '../../src/contract/index.ts';
import { createClient, type Message, ServiceHost, type UnaryMethod } from '../../src/core/index.ts';
import { HttpClientTransport, HttpServer } from '../../src/transports/http/index.ts';
import { rejectsWith } from '../support/status.ts';

const PYTHON = '/usr/bin/python3';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPTS = path.join(HERE, 'python');
const greeter = loadContractSync(path.join(HERE, '../../examples/greeter/greeter.proto')).service(
  'greet.Greeter',
);
type GreeterService = { sayHello: UnaryMethod<Message, Message> };

describe('Python requests calls HttpServer', () => {
  let server: HttpServer;
  let base: string;

  before(async () => {
    const host = new ServiceHost().add<GreeterService>(greeter, {
      sayHello: (req) => ({ message: `Hello, ${req.name}!` }),
    });
    server = new HttpServer(host);
    const { port } = await server.listen();
    base = `http://127.0.0.1:${port}`;
  });
  after(() => server.close(0));

  it("runs requests.post(url, json={'name': 'John'}) and reads 'Hello, John!'", async () => {
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        PYTHON,
        [path.join(SCRIPTS, 'http_requests_client.py'), base],
        { timeout: 30_000 },
        (err, stdout, stderr) => {
          resolve({ code: err ? Number(err.code ?? -1) : 0, stdout: stdout.trim(), stderr: stderr.trim() });
        },
      );
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.split('\n'), ['Hello, John!', 'ok']);
  });
});

describe('HttpClientTransport calls a Flask server', () => {
  let flask: ChildProcess | undefined;
  let transport: HttpClientTransport;

  before(async () => {
    const port = await freePort();
    flask = spawn(PYTHON, [path.join(SCRIPTS, 'http_greeter_flask.py'), String(port)], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    flask.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await waitUntilServing(`http://127.0.0.1:${port}/healthz`, flask, () => stderr);
    transport = new HttpClientTransport({ target: `127.0.0.1:${port}` });
  });
  after(async () => {
    await transport?.close();
    if (flask && flask.exitCode === null && flask.signalCode === null) {
      const exited = new Promise((resolve) => flask?.once('exit', resolve));
      flask.kill('SIGKILL');
      await exited;
    }
  });

  it('calls POST /api/hello and reads the greeting, ignoring fields it does not know', async () => {
    let headers: Metadata | undefined;
    const client = createClient<GreeterService>(greeter, transport);
    const res = await client.sayHello(
      { name: 'John' },
      { timeoutMs: 5000, metadata: { 'x-who': 'switchboard' }, onHeaders: (h) => (headers = h) },
    );
    assert.deepEqual({ ...res }, { message: 'Hello, John!' });
    assert.equal(headers?.getString('x-saw-who'), 'switchboard');
    const sawTimeout = Number(headers?.getString('x-saw-timeout-ms'));
    assert.ok(sawTimeout > 3000 && sawTimeout <= 5000, `Flask saw x-timeout-ms ${sawTimeout}`);
  });

  it("maps Flask's own error answer to a status by its HTTP code", async () => {
    const err = await rejectsWith(
      createClient<GreeterService>(greeter, transport).sayHello({ name: 'fail' }),
      Status.UNAVAILABLE,
    );
    assert.match(err.message, /HTTP 503.*the greeter is resting/);
  });

  it('gives up on a slow Flask answer at the deadline', async () => {
    const started = Date.now();
    await rejectsWith(
      createClient<GreeterService>(greeter, transport).sayHello({ name: 'slow' }, { timeoutMs: 300 }),
      Status.DEADLINE_EXCEEDED,
    );
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });
});

/** A port nothing listens on right now (the OS picks it; we close it and hand it to Flask). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200, the child exits, or 20 s pass. */
async function waitUntilServing(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`Flask exited (${child.exitCode}): ${stderr()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Flask did not start within 20 s: ${stderr()}`);
}
