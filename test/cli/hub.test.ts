import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.ts';
import { HubServer } from '../../src/hub/server.ts';
import { rawRequest } from '../support/raw-http.ts';
import { waitFor } from '../support/wait.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/switchboard.js');

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  // Never outlives the test, whatever happens.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
    readStdin: async () => '',
  });
  return { code, stdout, stderr };
}

describe('switchboard hub', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sb-cli-hub-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('serves until SIGTERM, then saves the registry and exits 0', async () => {
    const hub = start(['hub', '--port', '0', '--data', dir]);
    try {
      // Two lines, which may arrive in two chunks: wait for the second.
      await waitFor(() => /registry kept in .*registry\.json \(0 restored\)/.test(hub.stdout()), 20_000);
      const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(hub.stdout())?.[1] ?? '';
      assert.ok(url, hub.stdout());
      const health = await rawRequest(url, 'GET', '/healthz');
      assert.deepEqual(health.json, { status: 'SERVING' });
      const put = await rawRequest(url, 'PUT', '/api/v1/instances', {
        body: JSON.stringify({
          instance: {
            service: 'greet.Greeter',
            id: 'cli-1',
            endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }],
            metadata: {},
          },
          ttlMs: 60_000,
        }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(put.status, 200, put.text);
      const listed = await rawRequest(url, 'GET', '/api/v1/services/greet.Greeter');
      assert.equal((listed.json as { instances: unknown[] }).instances.length, 1);
      hub.child.kill('SIGTERM');
      assert.equal(await hub.exit, 0, hub.stderr());
      assert.match(hub.stderr(), /SIGTERM, closing/);
      const saved = JSON.parse(await readFile(path.join(dir, 'registry.json'), 'utf8')) as {
        instances: { instance: { id: string } }[];
      };
      assert.deepEqual(
        saved.instances.map((e) => e.instance.id),
        ['cli-1'],
      );
    } finally {
      hub.child.kill('SIGKILL');
    }
  });

  it('fails with exit 1 and a clear message when the port is taken', async () => {
    const taken = new HubServer({ port: 0 });
    const { port } = await taken.listen();
    try {
      const result = await inProcess(['hub', '--port', String(port)]);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `ERROR UNAVAILABLE: cannot start the hub on 127.0.0.1:${port}: the address is in use\n`,
      );
    } finally {
      await taken.close();
    }
  });

  it('refuses a bad port with exit 2, and documents itself', async () => {
    const bad = await inProcess(['hub', '--port', '70000']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--port: expected a port number from 0 to 65535/);
    const help = await inProcess(['hub', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: switchboard hub \[--port 7070\]/);
    assert.match((await inProcess(['--help'])).stdout, /\n {2}hub {2,}run the hub/);
  });
});
