import {
  balancingSection,
  type ClusterResults,
  clusterComparisons,
  governanceSection,
  hubSection,
} from './cluster-report.ts';
import type { H2loadRow } from './h2load.ts';
import type { MemoryRow } from './memory.ts';
import { messagingComparisons, messagingSection } from './messaging/messaging-report.ts';
import type { MessagingResult } from './messaging/results.ts';
import {
  type Comparison,
  cell,
  int,
  kib,
  measured,
  ms,
  range,
  table,
  target,
  times,
  verdict,
} from './report-kit.ts';
import { figureByRound, median, roundRatios, type StackSummary, type ThroughputRound } from './rounds.ts';
import type { StackId } from './stacks/index.ts';

/** The markdown report of one run (docs/benchmarks.md). */

export interface Environment {
  date: string;
  node: string;
  /** Which node ran the Moleculer processes, when not the harness's own. */
  moleculerNode?: string;
  nproc: string;
  cpu: string;
  loadBefore: number[];
  loadAfter: number[];
}

export interface RunSettings {
  command: string;
  durationS: number;
  warmupS: number;
  /** Rounds of the throughput part. */
  rounds: number;
  concurrency: number;
  httpConnections: number;
  idleConnections: number;
  inflightCalls: number;
  inflightConnections: number;
}

/**
 * Everything one report shows. The cluster parts (balancing, governance, hub) and the messaging
 * part each carry the run that produced them: a run of some parts keeps the others from the
 * previous raw JSON (merge.ts).
 */
export interface RunResults extends ClusterResults {
  messaging?: MessagingResult;
  env: Environment;
  settings: RunSettings;
  /** One entry per selected stack: medians over the rounds, and every round's raw figures. */
  throughput: StackSummary[];
  /** The stacks in the order each round ran them. */
  orders: StackId[][];
  h2load: H2loadRow[];
  idle: MemoryRow[];
  inflight: MemoryRow[];
}

function comparisons(results: RunResults): Comparison[] {
  const stack = (id: StackId) => results.throughput.find((r) => r.id === id);
  const rps = (id: StackId) => figureByRound(stack(id), (r) => r.result?.rps);
  const p99 = (id: StackId) => figureByRound(stack(id), (r) => r.result?.p99Ms);
  const over = { noun: 'rounds' as const, count: results.settings.rounds };
  const perRound = (a: Map<number, number>, b: Map<number, number>) => ({
    values: roundRatios(a, b).map((r) => r.ratio),
    over,
  });
  const h2 = (server: H2loadRow['server'], clients: number) =>
    results.h2load.find((r) => r.server === server && r.clients === clients && r.status === 'ok')?.rps;
  const once = (a: number | undefined, b: number | undefined) => ({
    values: a === undefined || b === undefined || b === 0 ? [] : [a / b],
  });
  const list: Comparison[] = [
    { name: 'native vs Moleculer, req/s', ...perRound(rps('native'), rps('moleculer')), atLeast: 1.2 },
    { name: 'native vs floor, req/s', ...perRound(rps('native'), rps('floor')), atLeast: 0.8 },
    {
      name: 'native p99 vs Moleculer p99',
      ...perRound(p99('native'), p99('moleculer')),
      note: 'lower is better',
    },
    { name: 'Switchboard gRPC vs grpc-js, req/s', ...perRound(rps('grpc'), rps('grpcjs')), atLeast: 1.5 },
    { name: 'Switchboard gRPC vs raw node:http2, req/s', ...perRound(rps('grpc'), rps('h2raw')) },
  ];
  for (const { clients, streams } of uniqueConfigs(results.h2load)) {
    list.push({
      name: `h2load -c ${clients} -m ${streams}: Switchboard gRPC server vs grpc-js server, req/s`,
      ...once(h2('grpc', clients), h2('grpcjs', clients)),
    });
  }
  list.push({
    name: 'Switchboard HTTP vs Fastify + undici, req/s',
    ...perRound(rps('http'), rps('fastify')),
    atLeast: 1,
  });
  list.push(...clusterComparisons(results));
  list.push(...messagingComparisons(results.messaging));
  return list;
}

function uniqueConfigs(rows: readonly H2loadRow[]): { clients: number; streams: number }[] {
  const seen = new Map<string, { clients: number; streams: number }>();
  for (const r of rows) seen.set(`${r.clients}/${r.streams}`, { clients: r.clients, streams: r.streams });
  return [...seen.values()];
}

function throughputSection(results: RunResults): string {
  const rounds = results.settings.rounds;
  const rpsOf = (row: ThroughputRound) => row.result?.rps;
  const okRps = (r: StackSummary) => [...figureByRound(r, rpsOf).values()];
  const floorRps = figureByRound(
    results.throughput.find((r) => r.id === 'floor'),
    rpsOf,
  );
  const rows = results.throughput.map((r) => {
    const vsFloor = median(roundRatios(figureByRound(r, rpsOf), floorRps).map((x) => x.ratio));
    const load = r.loadAverage;
    return [
      r.label,
      r.node ?? '—',
      r.connections === undefined ? '—' : String(r.connections),
      r.status === 'ok' ? `**${int(r.rps?.median)}**` : '—',
      ...(rounds > 1 ? [range(okRps(r), rounds, int)] : []),
      ms(r.p50Ms),
      ms(r.p99Ms),
      vsFloor === undefined ? '—' : times(vsFloor),
      load === undefined ? '—' : range([load.min, load.max], 1, (n) => n.toFixed(2)),
      cell(r.note ?? (r.status === 'ok' ? '' : r.status)),
    ];
  });
  const head = [
    'stack',
    'node',
    'connections',
    ...(rounds > 1 ? ['req/s (median)', 'range'] : ['req/s']),
    'p50 ms',
    'p99 ms',
    'vs floor',
    'load avg at start',
    'note',
  ];
  const out = [table(head, rows)];
  if (rounds > 1 && results.orders.some((order) => order.length > 1)) {
    out.push('', 'Order of the stacks in each round:', '');
    for (const [i, order] of results.orders.entries()) out.push(`${i + 1}. ${order.join(', ')}`);
  }
  return out.join('\n');
}

function comparisonSection(results: RunResults): string {
  const rounds = results.settings.rounds;
  const rows = comparisons(results).map((c) => [
    c.name,
    measured(c, median(c.values)),
    ...(rounds > 1
      ? [
          c.over
            ? range(
                c.values,
                c.over.count,
                (n) => (c.unit === 'ms' ? ms(n) : n.toFixed(2)),
                c.unit === 'ms' ? ' ms' : '×',
                c.over.noun,
              )
            : '— (one run)',
        ]
      : []),
    target(c),
    verdict(c),
  ]);
  const head = [
    'comparison',
    ...(rounds > 1 ? ['measured (median)', 'range'] : ['measured']),
    'target',
    'verdict',
  ];
  return table(head, rows);
}

function h2loadSection(rows: readonly H2loadRow[]): string {
  return table(
    ['server', 'h2load', 'req/s', 'p50 ms', 'p99 ms', 'mean ms', 'note'],
    rows.map((r) => [
      r.label,
      `-c ${r.clients} -m ${r.streams}`,
      r.status === 'ok' ? `**${int(r.rps)}**` : '—',
      ms(r.p50Ms),
      ms(r.p99Ms),
      ms(r.meanMs),
      cell(r.note),
    ]),
  );
}

function memorySection(rows: readonly MemoryRow[], unit: 'connection' | 'call'): string {
  const scale = unit === 'connection' ? kib : (b: number | undefined) => int(b);
  const suffix = unit === 'connection' ? 'KiB' : 'bytes';
  return table(
    [
      'server',
      'count',
      `heapUsed per ${unit} (${suffix})`,
      `external per ${unit} (${suffix})`,
      `RSS per ${unit} (${suffix})`,
      'note',
    ],
    rows.map((r) => [
      r.label,
      r.count === undefined ? '—' : int(r.count),
      scale(r.heapBytesEach),
      scale(r.externalBytesEach),
      scale(r.rssBytesEach),
      cell(r.note),
    ]),
  );
}

export function renderReport(results: RunResults): string {
  const { env, settings } = results;
  const separate = results.balancing || results.governance || results.hub || results.messaging;
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by bench/run.ts: edit the harness, not this file. See bench/README.md. -->',
    '',
    `Produced by \`${settings.command}\` on ${env.date}.`,
    '',
    `- Node ${env.node}${env.moleculerNode ? ` (Moleculer processes: Node ${env.moleculerNode})` : ''}; \`nproc\` = ${env.nproc}; ${env.cpu}`,
    `- Load average (1, 5, 15 min) before the run: ${env.loadBefore.map((n) => n.toFixed(2)).join(', ')}; after: ${env.loadAfter.map((n) => n.toFixed(2)).join(', ')}`,
    `- Unary \`greet.Greeter/SayHello\` \`{name: 'John'}\` → \`{message: 'Hello, John!'}\` (every response is checked), ${settings.concurrency} calls in flight (closed loop), client and server in separate processes on 127.0.0.1; ${settings.warmupS} s warm-up, then ${settings.durationS} s measured per stack${settings.rounds > 1 ? `, in each of ${settings.rounds} rounds` : ''}.`,
    ...(separate
      ? [
          '- The balancing, governance, hub and messaging sections each say which run produced them: a run of some parts',
          '  keeps the others from the previous run (`bench/results/latest.json`).',
        ]
      : []),
    '',
    ...howToRead(settings.rounds),
    '',
    '## Unary SayHello, closed loop',
    '',
    results.throughput.length ? throughputSection(results) : '_Not run._',
    '',
    '## Ratios and targets',
    '',
    comparisonSection(results),
    '',
    '## h2load on the gRPC servers',
    '',
    'h2load (nghttp2) posts one fixed gRPC message (5-byte prefix + protobuf `greet.Request`) with',
    '`content-type: application/grpc` and `te: trailers`; the body is first sent once over node:http2',
    'to check that the server answers it with grpc-status 0 and `Hello, John!`. Percentiles come from',
    "h2load's per-request log.",
    '',
    results.h2load.length ? h2loadSection(results.h2load) : '_Not run._',
    '',
    '## Memory',
    '',
    'Server memory after forced GC (`--expose-gc`), sampled before and after a client process opens',
    'its connections or parks its calls, divided by their count. `heapUsed`: JavaScript objects.',
    '`external`: Buffers and other memory V8 is told of, counted when allocated even if its pages are',
    'never touched. RSS: what the process really has resident, native state (nghttp2 sessions, socket',
    'buffers) included, but also whatever V8 keeps reserved, so it is the noisiest of the three.',
    '',
    `### Per idle connection (${int(settings.idleConnections)} connections, each after one call)`,
    '',
    results.idle.length ? memorySection(results.idle, 'connection') : '_Not run._',
    '',
    `### Per call in flight (${int(settings.inflightCalls)} calls over ${settings.inflightConnections} connections, held in the handler)`,
    '',
    results.inflight.length ? memorySection(results.inflight, 'call') : '_Not run._',
    '',
    "The calls are spread over enough connections to stay under the servers' default stream limits",
    "(Switchboard's gRPC and native servers allow 1,000 concurrent calls per connection).",
    '',
    'HTTP/1.1 (Switchboard HTTP, Fastify) carries one call per connection at a time, so it cannot park',
    `${int(settings.inflightCalls)} calls on a few connections: its per-call cost is the per-connection cost above.`,
    '',
    '## Balancing: one slow instance',
    '',
    balancingSection(results.balancing),
    '',
    '## Governance overhead: calling by name vs a direct call',
    '',
    governanceSection(results.governance),
    '',
    '## Hub: registrations, watchers, memory',
    '',
    hubSection(results.hub),
    '',
    '## Messaging',
    '',
    messagingSection(results.messaging),
    '',
    '## Setup of each stack',
    '',
    setupNotes(settings),
    '',
  ];
  return out.join('\n');
}

function howToRead(rounds: number): string[] {
  if (rounds <= 1)
    return [
      '> **Figures vary ±30% from run to run** (and far more on a busy machine): compare only ratios',
      '> taken from one run, such as the ones below, never absolute figures across runs or machines.',
    ];
  return [
    `> **Figures vary ±30% from run to run** (and far more on a busy machine), so every stack ran once`,
    `> in each of ${rounds} rounds, in an order that changes every round. req/s, p50 and p99 are the medians`,
    '> of the rounds; "range" is the lowest and highest req/s. Each ratio is taken between two stacks',
    '> of the same round; the table gives the median of those per-round ratios and their range, and a',
    '> target is met only when the median ratio meets it. Never compare absolute figures across runs or',
    '> machines.',
  ];
}

function setupNotes(settings: RunSettings): string {
  return [
    '- **floor**: 4-byte big-endian length + JSON `{id, name}` → `{id, message}` over one TCP socket,',
    '  written in bench/stacks/floor.ts; both sides batch every frame produced in one tick into one',
    '  `write` (a `process.nextTick` flush), `noDelay` on. The ceiling for any Node RPC on this machine.',
    "  Batched this way it runs 4-5x the brief's floor anchor (57k-88k req/s, an unbatched one), so",
    '  "native >= 0.8x floor" is measured against a much harder floor than the one the target was set by.',
    '- **Moleculer**: 0.15, TCP transporter, JSON serializer, default broker options, `logger: false`;',
    '  UDP discovery off, the client broker finds the server through a static `urls` entry.',
    `- **Fastify + undici**: Fastify 5, \`POST /api/hello\` with JSON schemas for body and response; an`,
    `  undici \`Pool\` of ${settings.httpConnections} keep-alive connections, pipelining 1, so every call in flight has`,
    '  its own connection (fewer connections would queue calls in the client). Switchboard HTTP gets the',
    '  same connection count.',
    '- **grpc-js**: @grpc/grpc-js + @grpc/proto-loader, default options, one channel (one HTTP/2 session).',
    '- **Switchboard native / gRPC / HTTP**: `ServiceHost` + `createClient` over the transport, as an',
    '  application uses them: the default 30 s deadline on every call, and context propagation as by',
    '  default (off in the server process, which creates no client; see docs/architecture.md).',
  ].join('\n');
}
