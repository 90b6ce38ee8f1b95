import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { Gate } from './gate.ts';
import { EXPECTED_MESSAGE, grpcRequestFrame, REPO_ROOT } from './greeter.ts';
import { runClosedLoop } from './load.ts';
import { parseOptions } from './options.ts';
import { type RunResults, renderReport } from './report.ts';
import { stack as floor } from './stacks/floor.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the closed loop keeps exactly `concurrency` calls in flight and counts correct answers', async (t) => {
  const server = await floor.serve({ host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const caller = await floor.connect({ host: '127.0.0.1', port: server.port, connections: 1 });
  t.after(() => caller.close());
  let inFlight = 0;
  let peak = 0;
  const result = await runClosedLoop(
    () => {
      peak = Math.max(peak, ++inFlight);
      return caller.sayHello('John').finally(() => inFlight--);
    },
    { concurrency: 8, warmupMs: 100, durationMs: 300 },
    (message) => message === EXPECTED_MESSAGE,
  );
  assert.equal(peak, 8);
  assert.equal(result.errors, 0);
  assert.ok(result.requests > 100, `only ${result.requests} calls`);
  assert.ok(Math.abs(result.seconds - 0.3) < 0.1, `measured ${result.seconds} s`);
  assert.ok(result.p50Ms > 0 && result.p50Ms <= result.p99Ms && result.p99Ms <= result.maxMs);
});

test('wrong answers and failures are errors, not requests, and do not stall the loop', async () => {
  let n = 0;
  const result = await runClosedLoop(
    () => (n++ % 2 ? Promise.reject(new Error('boom')) : Promise.resolve('Hello, Jane!')),
    { concurrency: 4, warmupMs: 10, durationMs: 100 },
    (message) => message === EXPECTED_MESSAGE,
  );
  assert.equal(result.requests, 0);
  assert.ok(result.errors > 0);
  assert.match(result.firstError ?? '', /boom|Jane/);
});

test('a gated floor server holds calls until released', async (t) => {
  const gate = new Gate();
  const server = await floor.serve({ host: '127.0.0.1', port: 0, gate });
  t.after(() => server.close());
  const caller = await floor.connect({ host: '127.0.0.1', port: server.port, connections: 1 });
  t.after(() => caller.close());
  gate.hold();
  const calls = Array.from({ length: 50 }, () => caller.sayHello('John'));
  while (gate.pending < 50) await new Promise((resolve) => setTimeout(resolve, 10));
  gate.release();
  assert.deepEqual(await Promise.all(calls), Array(50).fill(EXPECTED_MESSAGE));
});

test('the h2load body is greet.Request{name} in a gRPC frame', () => {
  assert.deepEqual([...grpcRequestFrame('John')], [0, 0, 0, 0, 6, 0x0a, 4, 0x4a, 0x6f, 0x68, 0x6e]);
});

test('options: defaults, and unknown parts are refused', () => {
  const options = parseOptions([]);
  assert.notEqual(options, 'help');
  if (options === 'help') return;
  assert.equal(options.durationS, 10);
  assert.equal(options.warmupS, 2);
  assert.equal(options.concurrency, 64);
  assert.ok(options.only.has('native') && options.only.has('memory'));
  assert.throws(() => parseOptions(['--only', 'native,nope']), /unknown part nope/);
  assert.throws(() => parseOptions(['--duration', 'abc']), /positive/);
});

test('the report marks each target met or not met from the measured ratio', () => {
  const row = (id: 'native' | 'moleculer' | 'floor', rps: number, p99Ms: number) => ({
    id,
    label: id,
    status: 'ok' as const,
    result: { requests: rps, errors: 0, seconds: 1, rps, p50Ms: 1, p90Ms: 1, p99Ms, meanMs: 1, maxMs: 1 },
  });
  const results: RunResults = {
    env: { date: 'today', node: 'v20', nproc: '2', cpu: 'cpu', loadBefore: [0, 0, 0], loadAfter: [0, 0, 0] },
    settings: {
      command: 'npm run bench',
      durationS: 10,
      warmupS: 2,
      concurrency: 64,
      httpConnections: 64,
      idleConnections: 1000,
      inflightCalls: 10000,
      inflightConnections: 16,
    },
    throughput: [row('floor', 100_000, 1), row('moleculer', 50_000, 4), row('native', 70_000, 2)],
    h2load: [],
    idle: [],
    inflight: [],
  };
  const markdown = renderReport(results);
  assert.match(markdown, /\| native vs Moleculer, req\/s \| 1\.40× \| ≥ 1\.2× \| \*\*met\*\* \|/);
  assert.match(markdown, /\| native vs floor, req\/s \| 0\.70× \| ≥ 0\.8× \| \*\*not met\*\* \|/);
  assert.match(markdown, /\| native p99 vs Moleculer p99 \| 0\.50× \|/);
  assert.match(markdown, /\| Switchboard gRPC vs grpc-js, req\/s \| n\/a \|/);
  assert.match(markdown, /±30%/);
});

test('npm run bench end to end: separate processes, a report, no process left behind', async () => {
  const out = path.join(tmp, 'report.md');
  const json = path.join(tmp, 'results.json');
  await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/run.ts',
      '--only',
      'floor',
      '--duration',
      '1',
      '--warmup',
      '0.5',
      '--out',
      out,
      '--json',
      json,
    ],
    { cwd: REPO_ROOT, timeout: 50_000 },
  );
  const report = readFileSync(out, 'utf8');
  assert.match(
    report,
    /\| floor: raw length-prefixed JSON, one TCP socket \| v\d+\.\d+\.\d+ \| 1 \| \*\*[\d,]+\*\* \|/,
  );
  const results = JSON.parse(readFileSync(json, 'utf8')) as RunResults;
  assert.equal(results.throughput[0]?.status, 'ok');
  assert.equal(results.throughput[0]?.result?.errors, 0);
});
