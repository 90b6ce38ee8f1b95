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
import { median, roundOrder, roundRatios, spread, summarizeStack, type ThroughputRound } from './rounds.ts';
import { stack as floor } from './stacks/floor.ts';
import type { StackId } from './stacks/index.ts';

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
  assert.equal(options.rounds, 3);
  assert.ok(options.only.has('native') && options.only.has('memory'));
  assert.throws(() => parseOptions(['--only', 'native,nope']), /unknown part nope/);
  assert.throws(() => parseOptions(['--duration', 'abc']), /positive/);
  assert.equal((parseOptions(['--rounds', '1']) as { rounds: number }).rounds, 1);
  assert.throws(() => parseOptions(['--rounds', '0']), /positive/);
  assert.throws(() => parseOptions(['--rounds', '1.5']), /whole number/);
});

/** How often each ordered pair (a right before b) occurs in the given orders. */
function neighbours(orders: readonly number[][]): Map<string, number> {
  const count = new Map<string, number>();
  for (const order of orders)
    for (let i = 1; i < order.length; i++) {
      const key = `${order[i - 1]}>${order[i]}`;
      count.set(key, (count.get(key) ?? 0) + 1);
    }
  return count;
}

test('rounds: the first keeps the given order; every round runs each stack once', () => {
  const stacks = ['floor', 'moleculer', 'fastify', 'grpcjs', 'h2raw', 'native', 'grpc', 'http'];
  assert.deepEqual(roundOrder(stacks, 0), stacks);
  assert.deepEqual(roundOrder([], 3), []);
  assert.deepEqual(roundOrder(['floor'], 2), ['floor']);
  assert.deepEqual(roundOrder(['a', 'b'], 1), ['b', 'a']);
  for (let n = 1; n <= 11; n++) {
    const items = Array.from({ length: n }, (_, i) => i);
    for (let round = 0; round < 3 * n; round++)
      assert.deepEqual(
        [...roundOrder(items, round)].sort((a, b) => a - b),
        items,
        `n=${n} round ${round}`,
      );
  }
});

test('rounds: no stack is always first or last, or always right after the same neighbour', () => {
  for (let n = 2; n <= 11; n++) {
    const items = Array.from({ length: n }, (_, i) => i);
    const orders = (count: number) => Array.from({ length: count }, (_, r) => roundOrder(items, r));
    // Over n rounds, each stack takes each position once (a Latin square).
    const square = orders(n);
    for (let position = 0; position < n; position++)
      assert.equal(new Set(square.map((o) => o[position])).size, n, `n=${n} position ${position}`);
    if (n % 2 === 0) {
      // Even n: over n rounds every stack runs right after every other exactly once.
      const pairs = neighbours(square);
      assert.equal(pairs.size, n * (n - 1), `n=${n}`);
      assert.ok(
        [...pairs.values()].every((c) => c === 1),
        `n=${n}`,
      );
    } else {
      // Odd n: rounds n..2n-1 reverse the first n, and over 2n rounds every pair occurs twice.
      const pairs = neighbours(orders(2 * n));
      assert.equal(pairs.size, n * (n - 1), `n=${n}`);
      assert.ok(
        [...pairs.values()].every((c) => c === 2),
        `n=${n}`,
      );
    }
    // The default 3 rounds: no stack first or last twice (n >= 3), none after the same one each time.
    if (n >= 3) {
      const three = orders(3);
      assert.equal(new Set(three.map((o) => o[0])).size, 3, `n=${n} first`);
      assert.equal(new Set(three.map((o) => o[n - 1])).size, 3, `n=${n} last`);
      for (const [pair, count] of neighbours(three)) assert.ok(count < 3, `n=${n}: ${pair} in every round`);
    }
  }
  // The 8 stacks of a full run over the default 3 rounds: no pair of neighbours repeats at all.
  const eight = Array.from({ length: 3 }, (_, r) => roundOrder([0, 1, 2, 3, 4, 5, 6, 7], r));
  assert.ok([...neighbours(eight).values()].every((c) => c === 1));
});

test('rounds: medians, ranges, and ratios taken within each round', () => {
  assert.equal(median([]), undefined);
  assert.equal(median([5]), 5);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.deepEqual(spread([30, 10, 20]), { median: 20, min: 10, max: 30, count: 3 });
  const a = new Map([
    [0, 100],
    [1, 130],
    [2, 90],
  ]);
  const b = new Map([
    [2, 80],
    [0, 100],
    [1, 0],
  ]);
  // Round 1 has b = 0: no ratio; the others pair figures of the same round.
  assert.deepEqual(roundRatios(a, b), [
    { round: 0, ratio: 1 },
    { round: 2, ratio: 1.125 },
  ]);
  assert.deepEqual(roundRatios(a, new Map()), []);
});

function result(rps: number, p50Ms = 1, p99Ms = 2) {
  return {
    requests: rps,
    errors: 0,
    seconds: 1,
    rps,
    p50Ms,
    p90Ms: p50Ms,
    p99Ms,
    meanMs: p50Ms,
    maxMs: p99Ms,
  };
}

/** A stack's rounds: a number is a successful round with that req/s (p99 = 1e5 / rps ms), null a failed one. */
function stackRounds(id: StackId, rps: (number | null)[]) {
  const rounds: ThroughputRound[] = rps.map((value, round) =>
    value === null
      ? { id, label: id, status: 'failed', note: 'failed: boom', round, position: 0 }
      : {
          id,
          label: id,
          status: 'ok',
          node: 'v20',
          connections: 1,
          result: result(value, 1, 1e5 / value),
          loadAverage: 1 + round,
          round,
          position: round,
        },
  );
  return summarizeStack({ id, label: id }, rounds);
}

test('rounds: a stack is summed up by the medians of the rounds that succeeded', () => {
  const s = stackRounds('native', [100, null, 300, 200]);
  assert.equal(s.status, 'ok');
  assert.equal(s.okRounds, 3);
  assert.deepEqual(s.rps, { median: 200, min: 100, max: 300, count: 3 });
  assert.equal(s.p99Ms, 1e5 / 200);
  assert.deepEqual(s.loadAverage, { min: 1, max: 4 });
  assert.equal(s.note, 'failed in 1 of 4 rounds: boom');
  assert.equal(s.rounds.length, 4);
  const failed = stackRounds('native', [null]);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.note, 'failed: boom');
  const skipped = summarizeStack({ id: 'grpc', label: 'grpc' }, [], 'skipped: not there');
  assert.equal(skipped.status, 'skipped');
  assert.deepEqual(skipped.rounds, []);
});

function runResults(rounds: number, throughput: RunResults['throughput']): RunResults {
  return {
    env: { date: 'today', node: 'v20', nproc: '2', cpu: 'cpu', loadBefore: [0, 0, 0], loadAfter: [0, 0, 0] },
    settings: {
      command: 'npm run bench',
      durationS: 10,
      warmupS: 2,
      rounds,
      concurrency: 64,
      httpConnections: 64,
      idleConnections: 1000,
      inflightCalls: 10000,
      inflightConnections: 16,
    },
    throughput,
    orders: Array.from({ length: rounds }, (_, r) =>
      roundOrder(
        throughput.map((t) => t.id),
        r,
      ),
    ),
    h2load: [],
    idle: [],
    inflight: [],
  };
}

test('the report marks each target met or not met from the measured ratio (one round, as before)', () => {
  const markdown = renderReport(
    runResults(1, [
      stackRounds('floor', [100_000]),
      stackRounds('moleculer', [50_000]),
      stackRounds('native', [70_000]),
    ]),
  );
  assert.match(markdown, /\| stack \| node \| connections \| req\/s \| p50 ms \|/);
  assert.match(markdown, /\| native \| v20 \| 1 \| \*\*70,000\*\* \| 1\.00 \| 1\.43 \| 0\.70× \| 1\.00 \|/);
  assert.match(markdown, /\| native vs Moleculer, req\/s \| 1\.40× \| ≥ 1\.2× \| \*\*met\*\* \|/);
  assert.match(markdown, /\| native vs floor, req\/s \| 0\.70× \| ≥ 0\.8× \| \*\*not met\*\* \|/);
  assert.match(markdown, /\| native p99 vs Moleculer p99 \| 0\.71× \|/);
  assert.match(markdown, /\| Switchboard gRPC vs grpc-js, req\/s \| n\/a \|/);
  assert.match(markdown, /±30%/);
  assert.doesNotMatch(markdown, /range|median|Order of the stacks/);
});

test('with rounds, the report gives medians and ranges, and ratios of the same round', () => {
  const markdown = renderReport(
    runResults(3, [
      stackRounds('floor', [200, null, 100]),
      stackRounds('moleculer', [100, 60, 80]),
      stackRounds('native', [100, 130, 90]),
    ]),
  );
  assert.match(markdown, /\| stack \| node \| connections \| req\/s \(median\) \| range \| p50 ms \|/);
  // Medians of each figure on its own; load averages as lowest–highest.
  assert.match(
    markdown,
    /\| native \| v20 \| 1 \| \*\*100\*\* \| 90–130 \| 1\.00 \| 1000\.0 \| 0\.70× \| 1\.00–3\.00 \| {2}\|/,
  );
  assert.match(markdown, /\| floor \| v20 \| 1 \| \*\*150\*\* \| 100–200 \(2 of 3 rounds\) \|/);
  // Per-round ratios 1.00, 2.17, 1.13: the median is 1.13 (not the 1.25 of the medians 100 / 80).
  assert.match(
    markdown,
    /\| native vs Moleculer, req\/s \| 1\.13× \| 1\.00–2\.17× \| ≥ 1\.2× \| \*\*not met\*\* \(met in 1 of 3 rounds\) \|/,
  );
  // p99 = 1e5 / rps, so its per-round ratios are the inverse ones: 1.00, 0.46, 0.89.
  assert.match(
    markdown,
    /\| native p99 vs Moleculer p99 \| 0\.89× \| 0\.46–1\.00× \| lower is better \| — \|/,
  );
  // floor failed in round 2: the ratio comes from rounds 1 and 3 (0.50 and 0.90).
  assert.match(
    markdown,
    /\| native vs floor, req\/s \| 0\.70× \| 0\.50–0\.90× \(2 of 3 rounds\) \| ≥ 0\.8× \| \*\*not met\*\* \(met in 1 of 2 rounds\) \|/,
  );
  assert.match(markdown, /failed in 1 of 3 rounds: boom/);
  assert.match(
    markdown,
    /1\. floor, moleculer, native\n2\. moleculer, native, floor\n3\. native, floor, moleculer/,
  );
  assert.match(markdown, /±30%.*\n.*3 rounds/);
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
      '--rounds',
      '1',
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
  assert.equal(results.settings.rounds, 1);
  assert.deepEqual(results.orders, [['floor']]);
  assert.equal(results.throughput[0]?.status, 'ok');
  assert.equal(results.throughput[0]?.rounds.length, 1);
  assert.equal(results.throughput[0]?.rounds[0]?.result?.errors, 0);
  assert.equal(results.throughput[0]?.rps?.median, results.throughput[0]?.rounds[0]?.result?.rps);
});
