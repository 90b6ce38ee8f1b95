import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureBalancing } from './balancing.ts';
import { GOVERNANCE_TRANSPORTS, measureGovernance } from './governance.ts';
import { H2LOAD_CONFIGS, type H2loadRow, measureH2load } from './h2load.ts';
import { measureHub } from './hub-bench.ts';
import { IDLE_STACKS, INFLIGHT_STACKS, type MemoryRow, measureIdle, measureInflight } from './memory.ts';
import { mergeResults, readPrevious } from './merge.ts';
import { measureMessaging } from './messaging/messaging-bench.ts';
import { node24 } from './node-runtime.ts';
import { type BenchOptions, parseOptions, USAGE } from './options.ts';
import { installCleanup, killAll } from './processes.ts';
import { type Environment, type RunResults, renderReport } from './report.ts';
import { roundOrder, type StackSummary, summarizeStack, type ThroughputRound } from './rounds.ts';
import { STACKS, type StackId, type StackInfo } from './stacks/index.ts';
import {
  firstLine,
  measureThroughput,
  missingModule,
  type ThroughputRow,
  type ThroughputSettings,
} from './throughput.ts';

/**
 * `npm run bench`: every stack's unary SayHello in separate server and client processes, once per
 * round (--rounds), then h2load on the gRPC servers, the memory runs, the cluster parts
 * (balancing, governance overhead, hub) and the messaging part; writes docs/benchmarks.md and raw JSON (every round's
 * figures), keeping the parts this run left out from the previous raw JSON (merge.ts).
 */

function nproc(): string {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(os.availableParallelism());
  }
}

function nodeVersion(execPath: string): string {
  return execFileSync(execPath, ['--version'], { encoding: 'utf8' }).trim();
}

/** Set once Moleculer has run on Node 24 because it failed on this node. */
let moleculerFallback: { execPath: string; why: string } | undefined;

/**
 * Moleculer declares node >= 22: run it on this node first, and only if it fails there, on
 * Node 24 from npm (see node-runtime.ts). Returns the row and the node that produced it. Once the
 * fallback has worked, later rounds go straight to Node 24 rather than failing again first.
 */
async function measureMoleculer(info: StackInfo, settings: ThroughputSettings, options: BenchOptions) {
  if (options.moleculerNode) return measureThroughput(info, settings, options.moleculerNode);
  if (moleculerFallback) {
    const row = await measureThroughput(info, settings, moleculerFallback.execPath);
    return { ...row, note: [moleculerFallback.why, row.note].filter(Boolean).join('; ') };
  }
  const first = await measureThroughput(info, settings);
  if (first.status !== 'failed') return first;
  log(`Moleculer failed on Node ${process.version} (${first.note}); retrying on Node 24`);
  try {
    const execPath = await node24();
    const retry = await measureThroughput(info, settings, execPath);
    const why = `Node ${process.version} failed: ${first.note}`;
    if (retry.status === 'ok') moleculerFallback = { execPath, why };
    return { ...retry, note: [why, retry.note].filter(Boolean).join('; ') };
  } catch (err) {
    return { ...first, note: `${first.note}; Node 24 fallback failed: ${firstLine(err)}` };
  }
}

/**
 * The throughput part: every selected stack once per round, in an order that changes each round
 * (see rounds.ts), so that no stack always runs first, last, or right after the same neighbour.
 */
async function measureRounds(
  options: BenchOptions,
  settings: ThroughputSettings,
): Promise<{ summaries: StackSummary[]; orders: StackId[][] }> {
  const selected = STACKS.filter((info) => options.only.has(info.id));
  const skipped = new Map<StackId, string>();
  for (const info of selected) {
    const missing = missingModule(info);
    if (missing) {
      skipped.set(info.id, `skipped: ${missing}`);
      log(`${info.id}: skipped: ${missing}`);
    }
  }
  const running = selected.filter((info) => !skipped.has(info.id));
  const rows = new Map<StackId, ThroughputRound[]>(running.map((info) => [info.id, []]));
  const orders: StackId[][] = [];
  for (let round = 0; round < options.rounds; round++) {
    const order = roundOrder(running, round);
    orders.push(order.map((info) => info.id));
    if (options.rounds > 1 && order.length)
      log(`round ${round + 1}/${options.rounds}: ${order.map((info) => info.id).join(', ')}`);
    for (const [position, info] of order.entries()) {
      log(`${info.id}: ${options.warmupS} s warm-up + ${options.durationS} s…`);
      // Other work on the machine moves the figures: the report shows how busy it was at each start.
      const loadAverage = os.loadavg()[0];
      const row =
        info.id === 'moleculer'
          ? await measureMoleculer(info, settings, options)
          : await measureThroughput(info, settings);
      rows.get(info.id)?.push({ ...row, loadAverage, round, position });
      log(summarize(row));
    }
  }
  const summaries = selected.map((info) =>
    summarizeStack({ id: info.id, label: info.label }, rows.get(info.id) ?? [], skipped.get(info.id)),
  );
  if (options.rounds > 1)
    for (const summary of summaries) log(`median of ${options.rounds} rounds: ${summarizeMedians(summary)}`);
  return { summaries, orders };
}

function describeMemory(row: MemoryRow, unit: 'connection' | 'call'): string {
  if (row.status !== 'ok') return row.note ?? row.status;
  const size = (bytes: number | undefined) =>
    unit === 'connection' ? `${((bytes ?? 0) / 1024).toFixed(1)} KiB` : `${Math.round(bytes ?? 0)} B`;
  const text = `${size(row.heapBytesEach)} heap, ${size(row.externalBytesEach)} external, ${size(row.rssBytesEach)} RSS per ${unit}`;
  return row.note ? `${text} (${row.note})` : text;
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

function summarize(row: ThroughputRow): string {
  const r = row.result;
  if (row.status !== 'ok' || !r) return `${row.id}: ${row.note ?? row.status}`;
  return `${row.id}: ${Math.round(r.rps)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms${row.note ? ` (${row.note})` : ''}`;
}

function summarizeMedians(s: StackSummary): string {
  if (s.status !== 'ok' || !s.rps) return `${s.id}: ${s.note ?? s.status}`;
  const { median, min, max } = s.rps;
  return `${s.id}: ${Math.round(median)} req/s (${Math.round(min)}–${Math.round(max)}), p50 ${s.p50Ms?.toFixed(2)} ms, p99 ${s.p99Ms?.toFixed(2)} ms${s.note ? ` (${s.note})` : ''}`;
}

/** Balancing, governance overhead and hub, each when selected. */
async function measureClusterParts(
  options: BenchOptions,
): Promise<Pick<RunResults, 'balancing' | 'governance' | 'hub'>> {
  const out: Pick<RunResults, 'balancing' | 'governance' | 'hub'> = {};
  const { host, command } = options;
  if (options.only.has('balancing')) {
    out.balancing = await measureBalancing(
      {
        host,
        command,
        instances: 5,
        healthyMs: 10,
        slowMs: 100,
        ratePerS: options.ratePerS,
        warmupMs: 1000,
        durationMs: options.balancingDurationS * 1000,
        rounds: options.rounds,
      },
      log,
    );
  }
  if (options.only.has('governance')) {
    const transports = [...GOVERNANCE_TRANSPORTS];
    log(
      `governance: direct vs by name on ${transports.join(', ')}, ${options.pairs} pairs of 0.5 s slices each…`,
    );
    const governance = await measureGovernance({
      host,
      command,
      concurrency: options.concurrency,
      warmupMs: 2000,
      sliceMs: 500,
      pairs: options.pairs,
      transports,
      httpConnections: options.httpConnections,
    });
    out.governance = governance;
    log(`  ${governance.status}${governance.note ? ` (${governance.note})` : ''}`);
    for (const t of governance.transports)
      log(`  ${t.transport}: by name / direct per pair: ${t.ratios.map((r) => r.toFixed(2)).join(' ')}`);
  }
  if (options.only.has('hub')) {
    out.hub = await measureHub(
      {
        host,
        command,
        instances: options.hubInstances,
        services: 100,
        watchers: options.hubWatchers,
        changes: options.hubChanges,
        clientProcesses: 1,
      },
      log,
    );
  }
  return out;
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const options = parsed;
  installCleanup();
  const loadBefore = os.loadavg();
  log(`load average before the run: ${loadBefore.map((n) => n.toFixed(2)).join(' ')}`);

  const settings: ThroughputSettings = {
    host: options.host,
    concurrency: options.concurrency,
    warmupMs: options.warmupS * 1000,
    durationMs: options.durationS * 1000,
    httpConnections: options.httpConnections,
  };
  const { summaries: throughput, orders } = await measureRounds(options, settings);

  const h2load: H2loadRow[] = [];
  if (options.only.has('h2load')) {
    for (const server of ['grpcjs', 'grpc'] as const) {
      log(
        `h2load on ${server} (${H2LOAD_CONFIGS.map((c) => `-c ${c.clients} -m ${c.streams}`).join(', ')})…`,
      );
      const rows = await measureH2load(server, {
        host: options.host,
        durationS: options.durationS,
        warmupS: options.warmupS,
      });
      h2load.push(...rows);
      for (const r of rows) log(`h2load ${server} -c ${r.clients} -m ${r.streams}: ${r.rps ?? r.note} req/s`);
    }
  }

  const idle: MemoryRow[] = [];
  const inflight: MemoryRow[] = [];
  if (options.only.has('memory')) {
    const memory = {
      host: options.host,
      idleConnections: options.idleConnections,
      inflightCalls: options.inflightCalls,
      inflightConnections: options.inflightConnections,
    };
    for (const stack of IDLE_STACKS) {
      log(`memory: ${options.idleConnections} idle connections on ${stack}…`);
      const row = await measureIdle(stack, memory);
      idle.push(row);
      log(`  ${describeMemory(row, 'connection')}`);
    }
    for (const stack of INFLIGHT_STACKS) {
      log(`memory: ${options.inflightCalls} calls in flight on ${stack}…`);
      const row = await measureInflight(stack, memory);
      inflight.push(row);
      log(`  ${describeMemory(row, 'call')}`);
    }
  }

  const cluster = await measureClusterParts(options);
  const messaging = options.only.has('messaging')
    ? await measureMessaging(
        {
          host: options.host,
          command: options.command,
          messages: options.messages,
          inFlight: options.concurrency,
          payloadBytes: 1024,
          rounds: options.rounds,
          targets: options.messagingTargets,
          retained: options.retained,
        },
        log,
      )
    : undefined;

  const moleculerRow = throughput.find((r) => r.id === 'moleculer');
  const env: Environment = {
    date: new Date().toISOString(),
    node: process.version,
    moleculerNode:
      moleculerRow?.node && moleculerRow.node !== process.version
        ? moleculerRow.node
        : options.moleculerNode
          ? nodeVersion(options.moleculerNode)
          : undefined,
    nproc: nproc(),
    cpu: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`,
    loadBefore,
    loadAfter: os.loadavg(),
  };
  const current: RunResults = {
    ...cluster,
    ...(messaging ? { messaging } : {}),
    env,
    settings: {
      command: options.command,
      durationS: options.durationS,
      warmupS: options.warmupS,
      rounds: options.rounds,
      concurrency: options.concurrency,
      httpConnections: options.httpConnections,
      idleConnections: options.idleConnections,
      inflightCalls: options.inflightCalls,
      inflightConnections: options.inflightConnections,
    },
    throughput,
    orders,
    h2load,
    idle,
    inflight,
  };
  const { previous, why } = options.fresh ? { why: '--fresh' } : readPrevious(options.json);
  const { results, carried } = mergeResults(current, previous, options.only);
  if (carried.length) log(`kept from the previous run: ${carried.join('; ')}`);
  else if (why && !options.fresh) log(`nothing kept from a previous run (${why})`);
  const markdown = renderReport(results);
  mkdirSync(path.dirname(options.out), { recursive: true });
  writeFileSync(options.out, markdown);
  mkdirSync(path.dirname(options.json), { recursive: true });
  writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
  console.log(markdown);
  log(`wrote ${path.relative(process.cwd(), options.out)} and ${path.relative(process.cwd(), options.json)}`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    killAll();
    process.exit(1);
  },
);
