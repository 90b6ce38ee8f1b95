/**
 * The command line against a hub with an access policy: `--token` or $SWITCHBOARD_TOKEN is
 * sent by ls and publish; without it the hub's refusal is reported; `switchboard hub
 * --access <file>` starts a hub that enforces the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HubServer } from '../../src/hub/server.ts';
import { waitFor } from '../support/wait.ts';
import { cli, inProcess, startCli } from './cli-runner.ts';

const TOKEN = 'cli-token-0123456789abcdef';
const POLICY = {
  tokens: { [TOKEN]: { name: 'cli' } },
  grants: [{ who: 'cli', read: '*', write: '*', publish: 'cli.*' }],
};

describe('switchboard with a hub access token', () => {
  let hub: HubServer;
  before(async () => {
    hub = new HubServer({ port: 0, access: POLICY });
    await hub.listen();
  });
  after(() => hub.close());

  it('ls: refused without a token, answered with --token or $SWITCHBOARD_TOKEN', async () => {
    const refused = await inProcess(['ls', '--hub', hub.url]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /401|credential/);
    const flagged = await inProcess(['ls', '--hub', hub.url, '--token', TOKEN, '--json']);
    assert.equal(flagged.code, 0, flagged.stderr);
    assert.deepEqual(JSON.parse(flagged.stdout), { services: [] });
    try {
      const fromEnv = await inProcess(['ls', '--hub', hub.url, '--json'], { SWITCHBOARD_TOKEN: TOKEN });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
    } finally {
      delete process.env.SWITCHBOARD_TOKEN;
    }
  });

  it('publish: the token reaches the broker port; a topic not granted is refused', async () => {
    const ok = await inProcess(['publish', 'cli.events', '{"n":1}', '--hub', hub.url, '--token', TOKEN]);
    assert.equal(ok.code, 0, ok.stderr);
    const denied = await inProcess([
      'publish',
      'other.events',
      '{"n":1}',
      '--hub',
      hub.url,
      '--token',
      TOKEN,
    ]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /cli may not publish to other\.events/);
  });

  it('hub --access <file>: the started hub enforces the file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-access-cli-'));
    const file = path.join(dir, 'access.json');
    writeFileSync(file, JSON.stringify(POLICY));
    const running = startCli(['hub', '--port', '0', '--broker-port', 'off', '--access', file]);
    try {
      await waitFor(() => /listening on http:\/\//.test(running.stdout()), 20_000);
      const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(running.stdout())?.[1] ?? '';
      const anonymous = await fetch(`${url}/api/v1/services`);
      assert.equal(anonymous.status, 401);
      const known = await fetch(`${url}/api/v1/services`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(known.status, 200);
    } finally {
      running.child.kill('SIGTERM');
      await running.exit;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hub --access <file>: a malformed policy is a usage error naming the problem', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-access-cli-'));
    try {
      const file = path.join(dir, 'access.json');
      writeFileSync(file, JSON.stringify({ grants: [{ who: 'x', raed: '*' }] }));
      const res = await cli(['hub', '--port', '0', '--access', file]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /--access: hub access: grants\[0\]: unknown field "raed"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
