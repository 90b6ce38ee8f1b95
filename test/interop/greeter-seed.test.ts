/**
 * The brief's reference interactions, unchanged, against `npm run greeter`: a Python grpcio
 * client calling SayHello(name='John') and Python requests posting {"name": "John"} to
 * /api/hello both get "Hello, John!".
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PYTHON = '/usr/bin/python3';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the greeter example with the seed Python clients', () => {
  let greeter: ChildProcess;
  const ports = { grpc: 0, http: 0, native: 0 };
  let output = '';

  before(async () => {
    ports.grpc = await freePort();
    ports.http = await freePort();
    ports.native = await freePort();
    greeter = spawn(process.execPath, ['--import', 'tsx', 'examples/greeter/main.ts'], {
      cwd: REPO,
      env: {
        ...process.env,
        GRPC_PORT: `${ports.grpc}`,
        HTTP_PORT: `${ports.http}`,
        NATIVE_PORT: `${ports.native}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    greeter.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    greeter.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const until = Date.now() + 30_000;
    while (!output.includes('serving;')) {
      if (greeter.exitCode !== null || Date.now() > until) assert.fail(`greeter did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(async () => {
    if (greeter.exitCode === null) {
      const exited = new Promise((resolve) => greeter.once('exit', resolve));
      greeter.kill('SIGTERM');
      await exited;
    }
  });

  it('checked itself over every transport on start', () => {
    for (const kind of ['grpc', 'http', 'native'])
      assert.match(output, new RegExp(`self-check over ${kind}: Hello, John!`));
  });

  it('answers the grpcio client: SayHello(Request(name="John"))', async () => {
    const { stdout } = await run(
      PYTHON,
      ['test/interop/python/greeter_client.py', '--target', `localhost:${ports.grpc}`],
      {
        cwd: REPO,
        timeout: 30_000,
      },
    );
    assert.equal(stdout.trim(), 'Hello, John!');
  });

  it('answers requests.post(url, json={"name": "John"})', async () => {
    const script = [
      'import sys, requests',
      "r = requests.post(sys.argv[1], json={'name': 'John'})",
      'r.raise_for_status()',
      "print(r.json()['message'])",
    ].join('\n');
    const url = `http://localhost:${ports.http}/api/hello`;
    const { stdout } = await run(PYTHON, ['-c', script, url], { cwd: REPO, timeout: 30_000 });
    assert.equal(stdout.trim(), 'Hello, John!');
  });

  it('drains and exits cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => greeter.once('exit', (code) => resolve(code)));
    greeter.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(output, /SIGTERM, deregistering and draining calls/);
  });
});
