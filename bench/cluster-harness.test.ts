import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { GovernanceSlice } from './cluster-protocol.ts';
import {
  type BalancingResult,
  type GovernanceResult,
  type HubResult,
  type PartRun,
  pairRatios,
  percentiles,
  summarizeScenario,
  summarizeSlices,
  summarizeTransport,
  watchFigures,
} from './cluster-results.ts';
import { REPO_ROOT } from './greeter.ts';
import { EventStreamReader } from './hub-client.ts';
import type { LoadResult } from './load.ts';
import { mergeResults } from './merge.ts';
import { runOpenLoop } from './open-loop.ts';
import { parseOptions } from './options.ts';
import { type RunResults, renderReport } from './report.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-cluster-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the open loop sends at the rate asked, whatever the answers, and times every call of the window', async () => {
  let sent = 0;
  const result = await runOpenLoop(
    () => {
      sent++;
      return sleep(5).then(() => 'ok');
    },
    { ratePerS: 500, warmupMs: 100, durationMs: 400 },
    (answer) => answer === 'ok',
  );
  // One call every 2 ms: 50 in the warm-up, 200 in the window, none after it.
  assert.equal(sent, 250);
  assert.equal(result.scheduled, 200);
  assert.equal(result.requests, 200);
  assert.equal(result.errors, 0);
  assert.equal(result.rps, 500);
  assert.ok(
    result.p50Ms >= 4.5 && result.p50Ms <= result.p99Ms && result.p99Ms <= result.maxMs,
    `${result.p50Ms}`,
  );
  assert.ok(result.maxInFlight >= 2, `${result.maxInFlight} in flight`);
  assert.ok(result.lagMaxMs >= 0);
});

test('the open loop counts failures, wrong answers and calls never answered as errors', async () => {
  let n = 0;
  const mixed = await runOpenLoop(
    () => (n++ % 2 ? Promise.reject(new Error('boom')) : Promise.resolve('Hello, Jane!')),
    { ratePerS: 1000, warmupMs: 0, durationMs: 100 },
    (answer) => answer === 'ok',
  );
  assert.equal(mixed.requests, 0);
  assert.equal(mixed.errors, 100);
  assert.match(mixed.firstError ?? '', /Jane|boom/);
  const silent = await runOpenLoop(() => new Promise<string>(() => {}), {
    ratePerS: 200,
    warmupMs: 0,
    durationMs: 50,
    drainMs: 50,
  });
  assert.equal(silent.scheduled, 10);
  assert.equal(silent.requests, 0);
  assert.equal(silent.errors, 10);
  assert.match(silent.firstError ?? '', /10 calls unanswered/);
  assert.ok(Number.isNaN(silent.p99Ms));
});

test('the stream reader finds each event and when its last byte came, however the bytes are cut', () => {
  const first = `event: instances\nid: 7\ndata: {"instances":[{"id":"a"}],"index":7}\n\n`;
  const second = `event: instances\nid: 12\ndata: ${JSON.stringify({ instances: [], pad: 'x'.repeat(300) })}\n\n`;
  const bytes = Buffer.from(`${first}: keepalive\n\n${second}`);
  for (const cut of [1, 2, 7, 64, bytes.length]) {
    const ids: number[] = [];
    const reader = new EventStreamReader((id) => ids.push(id));
    for (let i = 0, t = 0; i < bytes.length; i += cut, t++) reader.push(bytes.subarray(i, i + cut), t);
    assert.deepEqual(ids, [7, 12], `cut ${cut}`);
    assert.deepEqual(
      reader.events.map((e) => e.id),
      [7, 12],
    );
    // Each event is dated by the chunk that held its final newline.
    assert.equal(reader.events[1]?.at, Math.floor((bytes.length - 1) / cut), `cut ${cut}`);
    assert.equal(reader.lastEventBytes, Buffer.byteLength(second), `cut ${cut}`);
    assert.equal(reader.arrival(8), reader.events[1]?.at);
    assert.equal(reader.arrival(13), undefined);
  }
});

test('percentiles by nearest rank; governance pairs give one ratio each', () => {
  assert.equal(percentiles([]), undefined);
  assert.deepEqual(percentiles(Array.from({ length: 20 }, (_, i) => 20 - i)), {
    count: 20,
    p50: 10,
    p99: 20,
    max: 20,
  });
  assert.deepEqual(percentiles([3]), { count: 1, p50: 3, p99: 3, max: 3 });
  const load = (rps: number): LoadResult => ({
    requests: rps,
    errors: 0,
    seconds: 1,
    rps,
    p50Ms: 1,
    p90Ms: 1,
    p99Ms: 2,
    meanMs: 1,
    maxMs: 3,
  });
  const slices: GovernanceSlice[] = [
    { transport: 'native', client: 'direct', pair: 0, result: load(100), cpuUsPerCall: 2 },
    { transport: 'native', client: 'cluster', pair: 0, result: load(90), cpuUsPerCall: 2.5 },
    { transport: 'native', client: 'cluster', pair: 1, result: load(120), cpuUsPerCall: 2.4 },
    { transport: 'native', client: 'direct', pair: 1, result: load(100), cpuUsPerCall: 2.2 },
    { transport: 'native', client: 'direct', pair: 2, result: load(50), cpuUsPerCall: 2.1 },
  ];
  assert.deepEqual(pairRatios(slices), [0.9, 1.2]);
  const direct = summarizeSlices(slices, 'direct');
  assert.deepEqual(direct.rps, { median: 100, min: 50, max: 100, count: 3 });
  assert.equal(direct.cpuUsPerCall, 2.1);
  assert.ok(Math.abs((summarizeSlices(slices, 'cluster').cpuUsPerCall ?? 0) - 2.45) < 1e-9);
  // Each transport's pairs are its own: the same pair numbers on another transport do not mix in.
  const both: GovernanceSlice[] = [
    ...slices,
    { transport: 'http', client: 'direct', pair: 0, result: load(40), cpuUsPerCall: 9 },
    {
      transport: 'http',
      client: 'cluster',
      pair: 0,
      result: { ...load(30), errors: 2, firstError: 'x' },
      cpuUsPerCall: 10,
    },
  ];
  const native = summarizeTransport(both, 'native');
  assert.deepEqual(native.ratios, [0.9, 1.2]);
  assert.equal(native.status, 'ok');
  assert.equal(native.connections, undefined);
  const http = summarizeTransport(both, 'http', 64);
  assert.deepEqual(http.ratios, [0.75]);
  assert.equal(http.connections, 64);
  assert.equal(http.cluster?.cpuUsPerCall, 10);
  assert.equal(http.note, '2 errors, first: x');
  assert.equal(summarizeTransport(both, 'grpc').status, 'failed');
});

const run: PartRun = {
  command: 'npm run bench',
  date: 'today',
  node: 'v20',
  loadBefore: [1, 1, 1],
  loadAfter: [1, 1, 1],
};

function open(p99Ms: number) {
  return {
    offeredPerS: 2000,
    scheduled: 6000,
    requests: 6000,
    errors: 0,
    seconds: 3,
    rps: 2000,
    p50Ms: 10.4,
    p90Ms: 11,
    p99Ms,
    p999Ms: p99Ms + 1,
    meanMs: 11,
    maxMs: p99Ms + 2,
    lagP99Ms: 2,
    lagMaxMs: 3,
    maxInFlight: 40,
  };
}

/** Two rounds; p99 healthy 10 / 20, p2c 12 / 50 (ratios 1.2 and 2.5), round robin 100 / 100. */
function balancing(): BalancingResult {
  const p99s = {
    healthy: [10, 20],
    round_robin: [100, 100],
    p2c_peak_ewma: [12, 50],
    least_outstanding: [90, 95],
  };
  return {
    run,
    settings: {
      instances: 5,
      healthyMs: 10,
      slowMs: 100,
      ratePerS: 2000,
      warmupS: 1,
      durationS: 3,
      rounds: 2,
    },
    status: 'ok',
    orders: [],
    runs: Object.entries(p99s).flatMap(([scenario, values]) =>
      values.map((p99, round) => ({
        scenario: scenario as keyof typeof p99s,
        round,
        position: 0,
        status: 'ok' as const,
        loadAverage: 2,
        result: open(p99),
        slowShare: scenario === 'healthy' ? undefined : 0.01,
      })),
    ),
  };
}

function hub(): HubResult {
  const change = (max: number, warmup = false) => ({
    kind: 'register' as const,
    service: 's',
    index: 1,
    deliveries: [5, max / 2, max],
    missing: 0,
    ...(warmup ? { warmup: true } : {}),
  });
  const sample = { rss: 100 * 2 ** 20, heapUsed: 20 * 2 ** 20, external: 0, arrayBuffers: 0 };
  return {
    run,
    settings: { instances: 10_000, services: 100, watchers: 1000, changes: 3, clientProcesses: 1 },
    status: 'ok',
    register: { ms: 5000, concurrency: 64, errors: 0 },
    memory: { empty: sample, registered: { ...sample, heapUsed: sample.heapUsed + 10_000 * 1024 } },
    cases: [
      {
        id: 'one-service',
        label: '1,000 watchers of one service',
        watchers: 1000,
        watchersPerService: 1000,
        eventBytes: 28_000,
        openMs: 2000,
        status: 'ok',
        changes: [change(900, true), change(40), change(60), change(120)],
      },
    ],
  };
}

function results(parts: Partial<RunResults> = {}): RunResults {
  return {
    env: { date: 'today', node: 'v20', nproc: '2', cpu: 'cpu', loadBefore: [0, 0, 0], loadAfter: [0, 0, 0] },
    settings: {
      command: 'npm run bench',
      durationS: 10,
      warmupS: 2,
      rounds: 3,
      concurrency: 64,
      httpConnections: 64,
      idleConnections: 1000,
      inflightCalls: 10000,
      inflightConnections: 16,
    },
    throughput: [],
    orders: [],
    h2load: [],
    idle: [],
    inflight: [],
    ...parts,
  };
}

test('balancing and hub figures: per-round medians, warm-up changes left out', () => {
  const p2c = summarizeScenario(balancing(), 'p2c_peak_ewma');
  assert.equal(p2c.p99Ms, 31);
  assert.equal(p2c.okRounds, 2);
  const figures = watchFigures(hub().cases[0]!);
  assert.deepEqual(figures.warmupMs, [900]);
  assert.deepEqual(figures.everyWatcher, { count: 3, p50: 60, p99: 120, max: 120 });
  assert.deepEqual(figures.firstWatcher, { count: 3, p50: 5, p99: 5, max: 5 });
  assert.equal(figures.delivery?.count, 9);
});

test('the report gives the cluster parts their ratios, targets and verdicts', () => {
  const ratio = (rps: number) => ({
    requests: 1,
    errors: 0,
    seconds: 1,
    rps,
    p50Ms: 1,
    p90Ms: 1,
    p99Ms: 1,
    meanMs: 1,
    maxMs: 1,
  });
  const slices: GovernanceSlice[] = (['native', 'http'] as const).flatMap((transport) =>
    [0.9, 0.97, 0.93].flatMap((r, pair) => [
      { transport, client: 'direct' as const, pair, result: ratio(100), cpuUsPerCall: 2 },
      { transport, client: 'cluster' as const, pair, result: ratio(100 * r), cpuUsPerCall: 2.4 },
    ]),
  );
  const governance: GovernanceResult = {
    run,
    settings: { concurrency: 64, warmupS: 2, sliceS: 0.5, pairs: 3, httpConnections: 64 },
    status: 'ok',
    transports: [summarizeTransport(slices, 'native'), summarizeTransport(slices, 'http', 64)],
    slices,
  };
  const markdown = renderReport(results({ balancing: balancing(), governance, hub: hub() }));
  // Per-round ratios 1.2 and 2.5: median 1.85, met in one round of two.
  assert.match(
    markdown,
    /\| balancing, one instance 10× slower: p99 with p2c_peak_ewma \(default\) vs p99 all healthy \| 1\.85× \| 1\.20–2\.50× \| ≤ 2\.0× \| \*\*met\*\* \(met in 1 of 2 rounds\) \|/,
  );
  assert.match(
    markdown,
    /p99 with round_robin vs p99 all healthy \| 7\.50× \| 5\.00–10\.00× \| for contrast/,
  );
  assert.match(
    markdown,
    /\| governance: by name through ClusterTransport vs direct \(native, 64 in flight\), req\/s; client CPU per call 2\.00 µs direct, 2\.40 µs by name \| 0\.93× \| 0\.90–0\.97× \| ≥ 0\.95× \| \*\*not met\*\* \(met in 1 of 3 pairs\) \|/,
  );
  assert.match(
    markdown,
    /\| governance: by name through ClusterTransport vs direct \(http, 64 in flight, 64 connections each\), req\/s; client CPU per call 2\.00 µs direct, 2\.40 µs by name \| 0\.93× \|/,
  );
  assert.match(markdown, /\| http \| by name \| \*\*93\*\* \| 90–97 \|/);
  assert.match(markdown, /each with a pool of 64 keep-alive connections/);
  assert.match(
    markdown,
    /\| hub: a change → every one of 1,000 watchers of one service, p99 of 3 changes.*\| 120\.0 ms \| — \(one run\) \| < 100 ms \| \*\*not met\*\* \|/,
  );
  assert.match(
    markdown,
    /- \*\*http\*\*: by name \/ direct, req\/s: \*\*0\.93×\*\*.*Client CPU per call: 2\.00 µs direct, 2\.40 µs by name \(\+0\.40 µs, 1\.20×\)/,
  );
  // A governance result saved by the native-only harness still renders, as native.
  const { transports, ...rest } = governance;
  const { direct, cluster, ratios } = transports[0]!;
  const legacy = { ...rest, direct, cluster, ratios } as unknown as GovernanceResult;
  assert.match(
    renderReport(results({ governance: legacy })),
    /\| governance: by name through ClusterTransport vs direct \(native, 64 in flight\), req\/s; client CPU per call 2\.00 µs direct, 2\.40 µs by name \| 0\.93× \|/,
  );
  assert.match(markdown, /\| one slow, \*\*p2c_peak_ewma\*\* \(default\) \| 10\.4 \| \*\*31\.0\*\* \|/);
  assert.match(markdown, /\| 10,000 instances \| 100\.0 \| 29\.8 \| 0\.0 \| 1\.00 KiB per instance \|/);
  assert.match(
    markdown,
    /\| 1,000 watchers of one service \| 1,000 \| 27\.3 KiB \| 2\.00 s \| 5\.00 \|.*\| 900\.0 \|/,
  );
  // No stack ran: the throughput table says so instead of showing an empty table.
  assert.match(markdown, /## Unary SayHello, closed loop\n\n_Not run\._/);
});

test('a run of some parts keeps the others from the previous raw results', () => {
  const previous = results({
    env: {
      date: 'last week',
      node: 'v20',
      nproc: '2',
      cpu: 'cpu',
      loadBefore: [1, 1, 1],
      loadAfter: [1, 1, 1],
    },
    h2load: [{ server: 'grpc', label: 'g', clients: 1, streams: 64, status: 'ok', rps: 5 }],
    balancing: { ...balancing(), run: { ...run, date: 'old' } },
    hub: hub(),
  });
  const fresh = { ...balancing(), run: { ...run, date: 'new' } };
  const onlyBalancing = mergeResults(
    results({ balancing: fresh }),
    previous,
    new Set(['balancing'] as const),
  );
  assert.equal(onlyBalancing.results.balancing?.run.date, 'new');
  assert.equal(onlyBalancing.results.hub, previous.hub);
  assert.equal(onlyBalancing.results.env.date, 'last week');
  assert.equal(onlyBalancing.results.h2load.length, 1);
  assert.deepEqual(onlyBalancing.carried, [
    'stacks, h2load and memory (npm run bench, last week)',
    'hub (npm run bench, today)',
  ]);
  // A run of a stack replaces the stacks' group, and keeps the cluster parts it did not run.
  const onlyNative = mergeResults(results(), previous, new Set(['native'] as const));
  assert.equal(onlyNative.results.h2load.length, 0);
  assert.equal(onlyNative.results.env.date, 'today');
  assert.equal(onlyNative.results.balancing?.run.date, 'old');
  assert.deepEqual(mergeResults(results(), undefined, new Set(['hub'] as const)).carried, []);
});

test('options: the cluster parts, their defaults, and the quick path', () => {
  const options = parseOptions([]);
  assert.notEqual(options, 'help');
  if (options === 'help') return;
  for (const part of ['balancing', 'governance', 'hub'] as const) assert.ok(options.only.has(part));
  assert.equal(options.ratePerS, 2000);
  assert.equal(options.pairs, 12);
  assert.equal(options.hubInstances, 10_000);
  assert.equal(options.hubWatchers, 1000);
  assert.equal(options.fresh, false);
  const quick = parseOptions(['--only', 'balancing', '--fresh']);
  assert.notEqual(quick, 'help');
  if (quick === 'help') return;
  assert.deepEqual([...quick.only], ['balancing']);
  assert.equal(quick.fresh, true);
  assert.throws(() => parseOptions(['--rate', '0']), /positive/);
});

test('the cluster parts end to end, on a small scale: every process reports, the report is written', async () => {
  const out = path.join(tmp, 'report.md');
  const json = path.join(tmp, 'results.json');
  // Rounds 1, a short window, a small hub: the processes and their talk, not the figures.
  const args = [
    '--only',
    'balancing,governance,hub',
    '--rounds',
    '1',
    '--balancing-duration',
    '0.3',
    '--rate',
    '200',
  ];
  args.push('--pairs', '1', '--hub-instances', '200', '--hub-watchers', '10', '--hub-changes', '2');
  await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', ...args, '--out', out, '--json', json],
    { cwd: REPO_ROOT, timeout: 55_000 },
  );
  const saved = JSON.parse(readFileSync(json, 'utf8')) as RunResults;
  assert.equal(saved.balancing?.status, 'ok');
  assert.equal(saved.balancing?.runs.length, 4);
  assert.ok(saved.balancing?.runs.every((r) => r.status === 'ok' && r.result?.errors === 0));
  assert.equal(saved.governance?.status, 'ok', saved.governance?.note);
  assert.deepEqual(
    saved.governance?.transports.map((t) => [t.transport, t.status, t.ratios.length, t.connections]),
    [
      ['native', 'ok', 1, undefined],
      ['grpc', 'ok', 1, undefined],
      ['http', 'ok', 1, 64],
    ],
  );
  assert.ok(saved.governance?.transports.every((t) => t.direct?.errors === 0 && t.cluster?.errors === 0));
  assert.equal(saved.hub?.status, 'ok', saved.hub?.note);
  assert.equal(saved.hub?.register?.errors, 0);
  assert.deepEqual(
    saved.hub?.cases.map((c) => [c.id, c.changes.length, c.changes.every((ch) => ch.missing === 0)]),
    [
      ['one-service', 4, true],
      ['spread', 4, true],
    ],
  );
  assert.equal(saved.hub?.stats?.watchers, 10);
  const report = readFileSync(out, 'utf8');
  assert.match(report, /## Balancing: one slow instance/);
  assert.match(report, /## Hub: registrations, watchers, memory/);
});
