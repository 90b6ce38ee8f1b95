import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { MemoryBroker } from '../../src/messaging/memory/broker.ts';
import type { PartRun } from '../cluster-results.ts';
import { REPO_ROOT } from '../greeter.ts';
import { mergeResults } from '../merge.ts';
import { parseOptions } from '../options.ts';
import type { RunResults } from '../report.ts';
import type { Consumption, MessagingDriver } from './driver.ts';
import { messagingComparisons, messagingSection } from './messaging-report.ts';
import { makePayload, PROBE_SEQ, readStamp } from './payload.ts';
import { type MessagingResult, type MessagingRun, sideRatios, summarizeSide } from './results.ts';
import { SwitchboardDriver } from './switchboard-driver.ts';
import { type PhaseResult, runWorkload, type WorkloadResult, type WorkloadSettings } from './workload.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-messaging-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const settings = (over: Partial<WorkloadSettings> = {}): WorkloadSettings => ({
  messages: 200,
  inFlight: 64,
  payloadBytes: 1024,
  warmupMessages: 20,
  phaseTimeoutMs: 5000,
  token: 'test1',
  ...over,
});

test('a payload carries its publish time and sequence number', () => {
  const payload = makePayload(1024, 7, 1234.5);
  assert.equal(payload.byteLength, 1024);
  assert.deepEqual(readStamp(payload), { at: 1234.5, seq: 7 });
  assert.equal(readStamp(makePayload(1024, PROBE_SEQ))?.seq, PROBE_SEQ);
  assert.equal(readStamp(new Uint8Array(11)), undefined);
});

test('the workload on MemoryBroker: every phase completes with sane figures, then cleans up', async () => {
  const cleaned: { topics: readonly string[]; groups: readonly string[] }[] = [];
  const driver = new SwitchboardDriver(new MemoryBroker());
  const withCleanup: MessagingDriver = {
    name: driver.name,
    publish: (topic, payload) => driver.publish(topic, payload),
    consume: (topic, group, onMessage) => driver.consume(topic, group, onMessage),
    cleanup: async (topics, groups) => void cleaned.push({ topics, groups }),
    close: () => driver.close(),
  };
  const started = performance.now();
  const result = await runWorkload(withCleanup, settings({ joinGroupsFirst: true }));
  await driver.close();
  assert.ok(performance.now() - started < 4000, 'well within the phase timeout');
  assert.equal(result.driver, 'switchboard memory');
  for (const phase of [result.publish, result.consume, result.endToEnd]) {
    assert.equal(phase.status, 'ok', phase.note);
    assert.equal(phase.messages, 200);
    assert.ok(phase.msgsPerS !== undefined && phase.msgsPerS > 0 && Number.isFinite(phase.msgsPerS));
    assert.ok(phase.seconds > 0);
  }
  for (const latency of [result.publish.latency, result.endToEnd.latency]) {
    assert.equal(latency?.count, 200);
    assert.ok(latency && latency.p50 >= 0 && latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    // Times from the payload: milliseconds, not an epoch or a garbled stamp.
    assert.ok(latency.max < 4000, `max ${latency.max} ms`);
  }
  assert.equal(result.consume.duplicates, 0);
  assert.deepEqual(cleaned, [
    {
      topics: ['sbbench-test1-warm', 'sbbench-test1-load', 'sbbench-test1-e2e'],
      groups: ['sbbench-test1-warm-g', 'sbbench-test1-read-g', 'sbbench-test1-e2e-g'],
    },
  ]);
});

test('a broker that never confirms fails the run with a note, within the phase timeout', async () => {
  const stuck: MessagingDriver = {
    name: 'stuck',
    publish: () => new Promise<void>(() => {}),
    consume: async (): Promise<Consumption> => ({ close: async () => {} }),
    close: async () => {},
  };
  const started = performance.now();
  const result = await runWorkload(stuck, settings({ phaseTimeoutMs: 300 }));
  assert.ok(performance.now() - started < 2000);
  for (const phase of [result.publish, result.consume, result.endToEnd]) {
    assert.equal(phase.status, 'failed');
    assert.match(phase.note ?? '', /warm-up: 0 of 20 publishes confirmed within 0.3 s/);
  }
});

const run: PartRun = {
  command: 'npm run bench',
  date: 'today',
  node: 'v20',
  loadBefore: [1, 1, 1],
  loadAfter: [1, 1, 1],
};

function phase(msgsPerS: number, p99 = 10): PhaseResult {
  return {
    status: 'ok',
    messages: 100,
    seconds: 100 / msgsPerS,
    msgsPerS,
    latency: { count: 100, p50: 1, p99, max: p99 },
  };
}

function side(
  target: MessagingRun['target'],
  s: MessagingRun['side'],
  round: number,
  rate: number,
): MessagingRun {
  const result: WorkloadResult = {
    driver: `${s} ${target}`,
    publish: phase(rate),
    consume: phase(2 * rate),
    endToEnd: phase(rate),
  };
  return { target, side: s, round, position: 0, status: 'ok', loadAverage: 1, result };
}

function messaging(): MessagingResult {
  return {
    run,
    settings: {
      messages: 100,
      inFlight: 64,
      payloadBytes: 1024,
      warmupMessages: 10,
      phaseTimeoutMs: 60_000,
      consumerWindow: 256,
      rounds: 2,
      targets: ['nats', 'redis', 'embedded'],
      retained: 0,
    },
    status: 'ok',
    skipped: [{ target: 'redis', reason: 'skipped: nothing listens on 127.0.0.1:6379' }],
    servers: {},
    orders: [
      ['nats', 'embedded'],
      ['embedded', 'nats'],
    ],
    runs: [
      side('nats', 'switchboard', 0, 900),
      side('nats', 'bare', 0, 1000),
      side('embedded', 'switchboard', 0, 1200),
      side('nats', 'switchboard', 1, 700),
      side('nats', 'bare', 1, 1000),
      side('embedded', 'switchboard', 1, 900),
    ],
  };
}

test('messaging figures: medians per side, ratios within a round, targets and verdicts', () => {
  const result = messaging();
  const nats = summarizeSide(result, 'nats', 'switchboard');
  assert.equal(nats.publish?.median, 800);
  assert.equal(nats.consume?.median, 1600);
  assert.equal(nats.okRounds, 2);
  const sb = { target: 'nats' as const, side: 'switchboard' as const };
  const bare = { target: 'nats' as const, side: 'bare' as const };
  assert.deepEqual(sideRatios(result, sb, bare, 'publish'), [0.9, 0.7]);
  const lines = messagingComparisons(result);
  const publish = lines.find((c) => c.name === 'messaging nats: Switchboard vs bare client, publish msgs/s');
  assert.equal(publish?.atLeast, 0.8);
  const embedded = lines.find(
    (c) => c.name.startsWith('messaging: embedded broker vs NATS') && c.name.endsWith('publish msgs/s'),
  );
  assert.deepEqual(embedded?.values, [1.2, 0.9]);
  assert.equal(embedded?.atLeast, 1);
  // Redis did not run: no line compares with it.
  assert.ok(!lines.some((c) => c.name.includes('Redis')));
  const section = messagingSection(result);
  assert.match(section, /### NATS JetStream \(file storage\)/);
  assert.match(section, /\| switchboard nats \| \*\*800\*\* \| 700–900 \|/);
  assert.match(
    section,
    /publish msgs\/s \| 0\.80× \| 0\.70–0\.90× \| ≥ 0\.8× \| \*\*met\*\* \(met in 1 of 2 rounds\) \|/,
  );
  assert.match(
    section,
    /embedded broker vs NATS JetStream \(file\), bare client, publish msgs\/s \| 1\.05× .* \| ≥ 1\.0× \| \*\*met\*\*/,
  );
  assert.match(section, /_skipped: nothing listens on 127\.0\.0\.1:6379_/);
  assert.match(section, /_Not run \(`--retained 0`\)\._/);
});

test('options of the messaging part, and a run without it keeps its previous figures', () => {
  const defaults = parseOptions([]);
  assert.notEqual(defaults, 'help');
  if (defaults === 'help') return;
  assert.ok(defaults.only.has('messaging'));
  assert.equal(defaults.messages, 20_000);
  assert.equal(defaults.retained, 1_000_000);
  assert.deepEqual(defaults.messagingTargets, ['nats', 'redis', 'rabbitmq', 'kafka', 'embedded']);
  const small = parseOptions([
    '--only',
    'messaging',
    '--messages',
    '2000',
    '--messaging-targets',
    'nats,embedded',
    '--retained',
    '0',
  ]);
  assert.notEqual(small, 'help');
  if (small === 'help') return;
  assert.deepEqual([...small.only], ['messaging']);
  assert.deepEqual(small.messagingTargets, ['nats', 'embedded']);
  assert.equal(small.retained, 0);
  assert.throws(() => parseOptions(['--messaging-targets', 'mqtt']), /unknown target mqtt/);

  const base = { env: { date: 'd', node: 'v20', nproc: '2', cpu: 'c', loadBefore: [], loadAfter: [] } };
  const results = (over: Partial<RunResults>): RunResults => ({
    ...base,
    settings: {
      command: 'npm run bench',
      durationS: 1,
      warmupS: 1,
      rounds: 1,
      concurrency: 64,
      httpConnections: 64,
      idleConnections: 1,
      inflightCalls: 1,
      inflightConnections: 1,
    },
    throughput: [],
    orders: [],
    h2load: [],
    idle: [],
    inflight: [],
    ...over,
  });
  const previous = results({ messaging: messaging() });
  const hubOnly = mergeResults(results({}), previous, new Set(['hub'] as const));
  assert.equal(hubOnly.results.messaging, previous.messaging);
  assert.deepEqual(hubOnly.carried, ['messaging (npm run bench, today)']);
  const fresh = { ...messaging(), run: { ...run, date: 'now' } };
  const again = mergeResults(results({ messaging: fresh }), previous, new Set(['messaging'] as const));
  assert.equal(again.results.messaging?.run.date, 'now');
  assert.deepEqual(again.carried, []);
});

test('the messaging part end to end, on a small scale: hub and workload processes, SIGKILL, recovery, report', async () => {
  const out = path.join(tmp, 'report.md');
  const json = path.join(tmp, 'results.json');
  // The embedded target needs no outside server; the others are measured the same way.
  const args = ['--only', 'messaging', '--messaging-targets', 'embedded', '--rounds', '1'];
  args.push('--messages', '200', '--retained', '2000', '--out', out, '--json', json);
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
    cwd: REPO_ROOT,
    timeout: 55_000,
  });
  const saved = (JSON.parse(readFileSync(json, 'utf8')) as RunResults).messaging;
  assert.equal(saved?.status, 'ok', saved?.note);
  assert.deepEqual(
    saved?.runs.map((r) => [r.target, r.side, r.status]),
    [['embedded', 'switchboard', 'ok']],
  );
  const result = saved?.runs[0]?.result;
  for (const phase of [result?.publish, result?.consume, result?.endToEnd]) {
    assert.equal(phase?.status, 'ok', phase?.note);
    assert.equal(phase?.messages, 200);
  }
  const retained = saved?.retained;
  assert.equal(retained?.status, 'ok', retained?.note);
  assert.ok((retained?.load?.acked ?? 0) > 0, 'publishes were acknowledged before the kill');
  assert.equal(retained?.recovery?.missing, 0);
  assert.ok((retained?.recovery?.records ?? 0) >= 2001 + (retained?.load?.acked ?? 0));
  assert.ok((retained?.memory?.retained.rss ?? 0) > 0);
  const report = readFileSync(out, 'utf8');
  assert.match(report, /## Messaging/);
  assert.match(report, /### Embedded broker: memory with 2,000 messages retained, recovery after SIGKILL/);
});
