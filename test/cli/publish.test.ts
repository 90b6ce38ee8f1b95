/** `switchboard publish` against a real hub (HTTP port and broker port, on free ports). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HubServer } from '../../src/hub/server.ts';
import type { Delivery } from '../../src/messaging/broker.ts';
import { waitFor } from '../support/wait.ts';
import { deadPort, inProcess, REPO } from './cli-runner.ts';

describe('switchboard publish', () => {
  let hub: HubServer;
  let hubUrl = '';
  let scratch = '';

  before(async () => {
    hub = new HubServer({ port: 0 });
    hubUrl = `http://127.0.0.1:${(await hub.listen()).port}`;
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sb-publish-'));
  });
  after(async () => {
    await hub.close();
    await rm(scratch, { recursive: true, force: true });
  });

  /** Every message on `topic` so far, read straight from the hub's broker. */
  async function messagesOn(topic: string, expected: number): Promise<Delivery[]> {
    const got: Delivery[] = [];
    const broker = hub.broker;
    assert.ok(broker);
    const subscription = await broker.subscribe(topic, (d) => void got.push(d), {
      group: `check-${Math.random()}`,
      startAt: 'earliest',
    });
    try {
      await waitFor(() => got.length >= expected, 5000);
    } finally {
      await subscription.close();
    }
    assert.equal(got.length, expected);
    return got;
  }

  it('publishes JSON as it was written, with key, id and headers, and prints the receipt', async () => {
    const json = '{ "id": 42,\n  "total": 9.5 }';
    const res = await inProcess([
      'publish',
      'orders',
      json,
      '--hub',
      hubUrl,
      '--key',
      'customer-7',
      '--id',
      'order-42',
      '-H',
      'x-tenant=blue',
      '--header',
      'x-expr=a=b',
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    assert.match(res.stdout, /^published orders id=order-42 position=\d+ duplicate=false\n$/);
    const [delivery] = await messagesOn('orders', 1);
    assert.equal(delivery?.id, 'order-42');
    assert.equal(delivery?.key, 'customer-7');
    assert.deepEqual(delivery?.headers, {
      'x-tenant': 'blue',
      'x-expr': 'a=b',
      'content-type': 'application/json',
    });
    assert.equal(new TextDecoder().decode(delivery?.payload), json);
  });

  it('publishes --count copies, printing JSON receipts in order and a summary', async () => {
    const res = await inProcess(['publish', 'load', '{"n":1}', '--count', '300', '--json', '--hub', hubUrl]);
    assert.equal(res.code, 0, res.stderr);
    const receipts = res.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { topic: string; id: string; position: string; duplicate: boolean });
    assert.equal(receipts.length, 300);
    assert.equal(new Set(receipts.map((r) => r.id)).size, 300, 'each copy has its own id');
    assert.ok(receipts.every((r) => r.topic === 'load' && r.duplicate === false));
    // Positions are the broker's own words ("17", "2:17"): distinct, whatever their form.
    assert.equal(new Set(receipts.map((r) => r.position)).size, 300);
    assert.match(res.stderr, /^published 300 messages in \d+ ms \(\d+\/s\)\n$/);
    await messagesOn('load', 300);
  });

  it('reports a repeated --id as a duplicate, which the broker keeps once', async () => {
    const res = await inProcess(['publish', 'dedupe', '{}', '--id', 'same', '-n', '2', '--hub', hubUrl]);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^published dedupe id=same position=\d+ duplicate=false$/);
    assert.match(lines[1] ?? '', /^published dedupe id=same position=\S+ duplicate=true$/);
    await messagesOn('dedupe', 1);
  });

  it('publishes the raw bytes of --data-file, as octet-stream unless --content-type', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x7b, 0x0a]);
    const file = path.join(scratch, 'blob.bin');
    await writeFile(file, bytes);
    const raw = await inProcess(['publish', 'blobs', '--data-file', file, '--hub', hubUrl]);
    assert.equal(raw.code, 0, raw.stderr);
    const typed = await inProcess([
      'publish',
      'blobs',
      '-d',
      file,
      '--content-type',
      'image/x-test',
      '--broker',
      `hub://${hub.brokerTarget}`,
    ]);
    assert.equal(typed.code, 0, typed.stderr);
    const [first, second] = await messagesOn('blobs', 2);
    assert.deepEqual(Buffer.from(first?.payload ?? []), bytes);
    assert.equal(first?.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(Buffer.from(second?.payload ?? []), bytes);
    assert.equal(second?.headers['content-type'], 'image/x-test');
  });

  it('reads --data-file - from standard input byte for byte', async () => {
    const bytes = Buffer.from([0xc3, 0x28, 0x00, 0xe2, 0x82, 0xac, 0xff]); // invalid UTF-8 included
    const child = spawn(
      process.execPath,
      [path.join(REPO, 'bin/switchboard.js'), 'publish', 'stdin', '--data-file', '-', '--hub', hubUrl],
      { cwd: REPO },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdin.end(bytes);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^published stdin id=\S+ position=\d+ duplicate=false\n$/);
    const [delivery] = await messagesOn('stdin', 1);
    assert.deepEqual(Buffer.from(delivery?.payload ?? []), bytes);
  });

  it('exits 2 for a message that is not JSON, and publishes nothing', async () => {
    const res = await inProcess(['publish', 'strict', '{"a":', '--hub', hubUrl]);
    assert.equal(res.code, 2);
    assert.equal(res.stdout, '');
    assert.equal(
      res.stderr,
      "switchboard publish: the message is not JSON: Unexpected end of JSON input (send other bytes with --data-file <path|->)\nRun 'switchboard publish --help' for usage.\n",
    );
    const ok = await inProcess(['publish', 'strict', '"just a string"', '--hub', hubUrl]);
    assert.equal(ok.code, 0, ok.stderr);
    await messagesOn('strict', 1);
  });

  it('exits 2 for other mistakes on the command line', async () => {
    const cases: [string[], RegExp][] = [
      [[], /which topic\?/],
      [['t'], /what message\? give JSON/],
      [['t', '{}', '-d', 'f'], /as JSON or with --data-file, not both/],
      [['t', '{}', 'extra'], /unexpected argument "extra"/],
      [['t', '{}', '--count', '0'], /--count takes a whole number from 1, not "0"/],
      [['t', '{}', '--count', '1.5'], /--count takes a whole number/],
      [['t', '{}', '-H', 'novalue'], /--header takes name=value, not "novalue"/],
      [['t', '{}', '-H', '=v'], /--header takes name=value/],
      [['t', '-d', path.join(os.tmpdir(), 'sb-no-such-file')], /--data-file: cannot read .*sb-no-such-file/],
      [['t', '{}', '--hub', hubUrl, '--broker', 'hub://h:1'], /--hub and --broker exclude each other/],
      [
        ['t', '{}', '--broker', 'ftp://127.0.0.1:21'],
        /--broker: broker URL "ftp:\/\/127\.0\.0\.1:21": unsupported scheme ftp:\/\/ \(expected a URL starting with http:\/\/, https:\/\/, hub:\/\/, /,
      ],
      [['t', '{}', '--hub', 'localhost:7070'], /--hub: broker URL "localhost:7070": expected a URL/],
      [['bad topic', '{}', '--hub', hubUrl], /topic "bad topic" contains whitespace or a wildcard/],
      [['t', '{}', '--nope'], /Unknown option '--nope'/],
    ];
    for (const [args, message] of cases) {
      const res = await inProcess(['publish', ...args]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
      assert.match(res.stderr, /Run 'switchboard publish --help' for usage/);
    }
  });

  it('exits 1 with one clear line when the hub is unreachable', async () => {
    const port = await deadPort();
    const res = await inProcess(['publish', 't', '{}', '--hub', `http://127.0.0.1:${port}`]);
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.equal(
      res.stderr,
      `ERROR UNAVAILABLE: cannot reach the broker of the hub at http://127.0.0.1:${port}: connection refused\n`,
    );
  });

  it('picks the broker: a flag beats the environment, $SWITCHBOARD_BROKER beats $SWITCHBOARD_HUB', async () => {
    const dead = `127.0.0.1:${await deadPort()}`;
    const live = `hub://${hub.brokerTarget}`;
    const fromHub = await inProcess(['publish', 'env', '{}'], { SWITCHBOARD_HUB: `http://${dead}` });
    assert.equal(fromHub.code, 1);
    assert.equal(
      fromHub.stderr,
      `ERROR UNAVAILABLE: cannot reach the broker of the hub at http://${dead}: connection refused\n`,
    );
    const fromBroker = await inProcess(['publish', 'env', '{}'], {
      SWITCHBOARD_HUB: `http://${dead}`,
      SWITCHBOARD_BROKER: live,
    });
    assert.equal(fromBroker.code, 0, fromBroker.stderr);
    const fromFlag = await inProcess(['publish', 'env', '{}', '--hub', hubUrl], {
      SWITCHBOARD_HUB: `http://${dead}`,
      SWITCHBOARD_BROKER: `hub://${dead}`,
    });
    assert.equal(fromFlag.code, 0, fromFlag.stderr);
    const badEnv = await inProcess(['publish', 'env', '{}'], { SWITCHBOARD_BROKER: 'ftp://h:1' });
    assert.equal(badEnv.code, 2);
    assert.match(
      badEnv.stderr,
      /^switchboard publish: \$SWITCHBOARD_BROKER: broker URL "ftp:\/\/h:1": unsupported scheme/,
    );
    await messagesOn('env', 2);
  });

  it('prints its help', async () => {
    const res = await inProcess(['publish', '--help']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^Usage: switchboard publish <topic> <json>/);
    assert.match(res.stdout, /--data-file <path>/);
  });
});
