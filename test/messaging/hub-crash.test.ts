/**
 * Issue 4's durability promise at the level users meet it: a hub process (`switchboard hub
 * --data`) killed with SIGKILL while publishers are busy loses no message it acknowledged, and
 * a restarted hub on the same folder delivers every one of them.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HubBroker } from '../../src/app/brokers/hub-broker.ts';
import { waitFor } from '../support/wait.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/switchboard.js');

interface HubProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

async function startHub(dir: string): Promise<HubProcess> {
  const child = spawn(process.execPath, [BIN, 'hub', '--port', '0', '--broker-port', '0', '--data', dir], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise((resolve) =>
    child.once('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    }),
  );
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  await waitFor(() => /broker on /.test(out), 20_000);
  const url = /listening on (\S+)/.exec(out)?.[1];
  assert.ok(url, out);
  return { child, url, exited };
}

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

it('a hub killed with SIGKILL mid-load keeps every acknowledged message', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sb-hub-crash-'));
  dirs.push(dir);
  const first = await startHub(dir);
  const publisher = await HubBroker.fromHub(first.url, { publishTimeoutMs: 200 });
  const acknowledged = new Set<string>();
  let failed = 0;
  let stop = false;
  const lanes = Array.from({ length: 32 }, async (_, lane) => {
    for (let i = 0; !stop; i++) {
      try {
        const receipt = await publisher.publish('orders', {
          key: `k${lane}`,
          payload: Buffer.from(`${lane}:${i}`),
        });
        acknowledged.add(receipt.id);
      } catch {
        failed++;
        return; // the hub is gone: this lane stops
      }
    }
  });
  await waitFor(() => acknowledged.size >= 2_000, 30_000);
  first.child.kill('SIGKILL');
  await first.exited;
  stop = true;
  await Promise.all(lanes);
  await publisher.close();
  assert.ok(failed > 0, 'publishes were in flight when the hub died');

  const second = await startHub(dir);
  try {
    const consumer = await HubBroker.fromHub(second.url);
    const seen = new Set<string>();
    await consumer.subscribe('orders', (d) => void seen.add(d.id), { group: 'audit', startAt: 'earliest' });
    await waitFor(() => [...acknowledged].every((id) => seen.has(id)), 30_000);
    await consumer.close();
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
});
