/** `switchboard subscribe` against a real hub: in this process, and as a child stopped by a signal. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/cli/main.ts';
import { HubServer } from '../../src/hub/server.ts';
import { waitFor } from '../support/wait.ts';
import { deadPort, inProcess, type RunningCli, startCli } from './cli-runner.ts';

interface Line {
  topic: string;
  id: string;
  key: string | null;
  headers: Record<string, string>;
  attempt: number;
  payload: string;
  payloadEncoding: 'text' | 'base64';
}

/** A command run in this process whose output can be watched while it runs. */
function watch(args: string[]) {
  let stdout = '';
  let stderr = '';
  const exit = run(args, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    readStdin: async () => '',
  });
  return { exit, stdout: () => stdout, stderr: () => stderr };
}

function jsonLines(text: string): Line[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);
}

describe('switchboard subscribe', () => {
  let hub: HubServer;
  let hubUrl = '';

  before(async () => {
    hub = new HubServer({ port: 0 });
    hubUrl = `http://127.0.0.1:${(await hub.listen()).port}`;
  });
  after(() => hub.close());

  async function publish(topic: string, ...args: string[]): Promise<string> {
    const res = await inProcess(['publish', topic, ...args, '--hub', hubUrl, '--json']);
    assert.equal(res.code, 0, res.stderr);
    return (JSON.parse(res.stdout) as { id: string }).id;
  }

  async function publishBytes(topic: string, bytes: Uint8Array, key?: string): Promise<string> {
    const receipt = await hub.broker?.publish(topic, { payload: bytes, ...(key ? { key } : {}) });
    assert.ok(receipt);
    return receipt.id;
  }

  it('prints what was published, from the beginning, one line each, then exits after --count', async () => {
    const first = await publish('orders', '{"id":1}', '--key', 'c-7');
    // One key: delivered in publish order on any broker.
    const second = await publishBytes('orders', new Uint8Array([0xff, 0x00, 0x01]), 'c-7');
    const res = await inProcess(['subscribe', 'orders', '--from-beginning', '--count', '2', '--hub', hubUrl]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout,
      `orders id=${first} key=c-7 attempt=1 {"id":1}\norders id=${second} key=c-7 attempt=1 base64:/wAB\n`,
    );
    assert.match(
      res.stderr,
      new RegExp(`^subscribed to orders as group cli-[0-9a-f]{8} on the hub at ${hubUrl}\n$`),
    );
    // A group of its own each run: a second run sees the same messages again.
    const again = await inProcess(['subscribe', 'orders', '--from-beginning', '-n', '2', '--hub', hubUrl]);
    assert.equal(again.stdout, res.stdout);
  });

  it('prints NDJSON with --json: key and headers round trip, payload as text or base64', async () => {
    const json = await publish('events', '{"name":"John"}', '-k', 'k1', '-H', 'x-trace=abc', '--id', 'e-1');
    const binary = await publishBytes('events', new Uint8Array([0xc3, 0x28]));
    const res = await inProcess([
      'subscribe',
      'events',
      '--from-beginning',
      '--count',
      '2',
      '--json',
      '--broker',
      `hub://${hub.brokerTarget}`,
    ]);
    assert.equal(res.code, 0, res.stderr);
    // Without a common key the order is the broker's: compare in id order.
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    assert.deepEqual(
      jsonLines(res.stdout).sort(byId),
      [
        {
          topic: 'events',
          id: json,
          key: 'k1',
          headers: { 'x-trace': 'abc', 'content-type': 'application/json' },
          attempt: 1,
          payload: '{"name":"John"}',
          payloadEncoding: 'text',
        },
        {
          topic: 'events',
          id: binary,
          key: null,
          headers: {},
          attempt: 1,
          payload: 'wyg=',
          payloadEncoding: 'base64',
        },
      ].sort(byId),
    );
  });

  it('escapes control characters, so a message stays on one line and cannot steer the terminal', async () => {
    await publishBytes('texts', new TextEncoder().encode('two\nlines \u001b[31mred\t!'));
    const res = await inProcess(['subscribe', 'texts', '--from-beginning', '-n', '1', '--hub', hubUrl]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^texts id=\S+ key=- attempt=1 two\\nlines \\u001b\[31mred\\t!\n$/);
  });

  it('starts at the next message unless --from-beginning', async () => {
    await publish('live', '"old"');
    const sub = watch(['subscribe', 'live', '--count', '1', '--hub', hubUrl]);
    await waitFor(() => sub.stderr().includes('subscribed to live'), 5000);
    await publish('live', '"new"');
    assert.equal(await sub.exit, 0, sub.stderr());
    assert.match(sub.stdout(), /^live id=\S+ key=- attempt=1 "new"\n$/);
  });

  it('shares a named group: acknowledged messages are gone for it, ones beyond --count are not', async () => {
    const ids = [await publish('jobs', '1'), await publish('jobs', '2'), await publish('jobs', '3')];
    const base = ['subscribe', 'jobs', '--group', 'workers', '--from-beginning', '--json', '--hub', hubUrl];
    // Three handed out at once, one taken: the other two go back to the group.
    const one = await inProcess([...base, '--count', '1', '--max-in-flight', '3']);
    assert.equal(one.code, 0, one.stderr);
    const taken = jsonLines(one.stdout).map((l) => l.id);
    assert.equal(taken.length, 1);
    const rest = await inProcess([...base, '--count', '2']);
    assert.equal(rest.code, 0, rest.stderr);
    const others = jsonLines(rest.stdout).map((l) => l.id);
    assert.deepEqual([...taken, ...others].sort(), [...ids].sort(), 'each message once');
    // All acknowledged: the group has nothing left.
    const none = await inProcess([...base, '--timeout', '300']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, '');
  });

  it('ends after --timeout ms without a message: 0 without --count, 1 when --count is not reached', async () => {
    await publish('quiet', '{}');
    const started = Date.now();
    const idle = await inProcess([
      'subscribe',
      'quiet',
      '--from-beginning',
      '--timeout',
      '300',
      '--hub',
      hubUrl,
    ]);
    assert.equal(idle.code, 0, idle.stderr);
    assert.equal(idle.stdout.split('\n').length, 2, 'the one message, then quiet');
    assert.ok(Date.now() - started < 3000);
    const short = await inProcess([
      'subscribe',
      'quiet',
      '--from-beginning',
      '--count',
      '3',
      '--timeout',
      '300',
      '--hub',
      hubUrl,
    ]);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /ERROR DEADLINE_EXCEEDED: 1 of 3 messages on quiet: none came for 300 ms\n$/);
  });

  it('runs as a process until SIGTERM, then leaves its group cleanly and exits 0', async () => {
    let child: RunningCli | undefined;
    try {
      child = startCli(['subscribe', 'signals', '--group', 'watchers', '--hub', hubUrl]);
      const running = child;
      await waitFor(() => running.stderr().includes('subscribed to signals as group watchers'), 15_000);
      const id = await publish('signals', '{"n":1}');
      await waitFor(() => running.stdout().includes(id), 5000);
      child.child.kill('SIGTERM');
      assert.equal(await child.exit, 0, child.stderr());
      assert.equal(child.stdout(), `signals id=${id} key=- attempt=1 {"n":1}\n`);
      assert.match(child.stderr(), /SIGTERM, closing\n$/);
      // It acknowledged what it printed: the group has nothing left to give.
      const after = await inProcess([
        'subscribe',
        'signals',
        '-g',
        'watchers',
        '--from-beginning',
        '--timeout',
        '300',
        '--hub',
        hubUrl,
      ]);
      assert.equal(after.code, 0, after.stderr);
      assert.equal(after.stdout, '');
    } finally {
      if (child && child.child.exitCode === null && child.child.signalCode === null)
        child.child.kill('SIGKILL');
      await child?.exit;
    }
  });

  it('exits 1 with one clear line when the hub is unreachable', async () => {
    const port = await deadPort();
    const res = await inProcess(['subscribe', 't', '--hub', `http://127.0.0.1:${port}`]);
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.equal(
      res.stderr,
      `ERROR UNAVAILABLE: cannot reach the broker of the hub at http://127.0.0.1:${port}: connection refused\n`,
    );
  });

  it('exits 2 for mistakes on the command line', async () => {
    const cases: [string[], RegExp][] = [
      [[], /which topic\?/],
      [['t', 'u'], /unexpected argument "u"/],
      [['t', '--count', '0'], /--count takes a whole number from 1, not "0"/],
      [['t', '--timeout', '-5'], /--timeout/],
      [['t', '--timeout', '1s'], /--timeout takes a whole number from 1, not "1s"/],
      [['t', '--max-in-flight', 'x'], /--max-in-flight takes a whole number/],
      [['t', '--group', 'a b', '--hub', hubUrl], /group "a b" contains whitespace or a wildcard/],
      [['t', '--broker', 'ftp://127.0.0.1:21'], /unsupported scheme ftp:\/\//],
      [['t', '--from-beginning=yes'], /--from-beginning/],
    ];
    for (const [args, message] of cases) {
      const res = await inProcess(['subscribe', ...args]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
      assert.match(res.stderr, /Run 'switchboard subscribe --help' for usage/);
    }
    const help = await inProcess(['subscribe', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /cli-<random>/);
  });
});
