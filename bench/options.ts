import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './greeter.ts';
import { TARGET_IDS, type TargetId } from './messaging/targets.ts';
import { STACKS, type StackId } from './stacks/index.ts';

/** The command line of `npm run bench`. */

export type ClusterPart = 'balancing' | 'governance' | 'hub';

/** Parts that carry their own run in the results, and are kept from the previous JSON when not run. */
export type SeparatePart = ClusterPart | 'messaging';

export type Part = StackId | 'h2load' | 'memory' | SeparatePart;

export const CLUSTER_PARTS: readonly ClusterPart[] = ['balancing', 'governance', 'hub'];

export const SEPARATE_PARTS: readonly SeparatePart[] = [...CLUSTER_PARTS, 'messaging'];

export const PARTS: readonly Part[] = [...STACKS.map((s) => s.id), 'h2load', 'memory', ...SEPARATE_PARTS];

export interface BenchOptions {
  durationS: number;
  warmupS: number;
  /** Rounds of the throughput part: every selected stack runs once per round. */
  rounds: number;
  only: ReadonlySet<Part>;
  out: string;
  json: string;
  concurrency: number;
  httpConnections: number;
  idleConnections: number;
  inflightCalls: number;
  inflightConnections: number;
  moleculerNode: string | undefined;
  /** Offered calls/s of the balancing part. */
  ratePerS: number;
  /** Measured seconds of each balancing scenario in each round. */
  balancingDurationS: number;
  /** Pairs of slices of the governance part, per transport. */
  pairs: number;
  hubInstances: number;
  hubWatchers: number;
  hubChanges: number;
  /** Messages of each measured phase of the messaging part. */
  messages: number;
  /** The brokers the messaging part measures. */
  messagingTargets: readonly TargetId[];
  /** Messages retained in the embedded broker for its memory and recovery figures; 0: not run. */
  retained: number;
  /** Do not keep the parts not run from the previous raw JSON. */
  fresh: boolean;
  host: string;
  /** The command line as typed, for the report. */
  command: string;
}

export const USAGE = `npm run bench -- [options]

  --duration S            measured seconds per stack (default 10), after the warm-up
  --warmup S              warm-up seconds per stack (default 2)
  --rounds N              rounds of the throughput part (default 3): every stack runs once per
                          round, in an order that changes each round; the report gives medians
  --only a,b,...          run only these parts: ${PARTS.join(', ')}
  --out FILE              markdown report (default docs/benchmarks.md)
  --json FILE             raw results (default bench/results/latest.json)
  --concurrency N         calls in flight (default 64)
  --http-connections N    keep-alive connections of the HTTP/1.1 clients (default 64)
  --idle-connections N    idle connections in the memory run (default 1000)
  --inflight N            parked calls in the memory run (default 10000)
  --inflight-connections N  connections carrying them (default 16)
  --moleculer-node PATH   the node binary for the Moleculer processes (default: this one,
                          falling back to Node 24 from npm if Moleculer fails on it)

  The cluster parts (balancing, governance, hub; about 2.5 minutes together):
  --rate N                offered calls/s of the balancing part (default 2000)
  --balancing-duration S  measured seconds per balancing scenario and round (default 3);
                          the balancing scenarios run once per round (--rounds)
  --pairs N               alternating direct/by-name slice pairs of the governance part, per
                          transport (native, gRPC, HTTP; default 12)
  --hub-instances N       instances registered with the hub (default 10000, over 100 services)
  --hub-watchers N        watch streams on the hub (default 1000)
  --hub-changes N         changes timed to every watcher, per case (default 20)

  The messaging part (--only messaging; with the defaults several minutes per round, the
  Kafka mock the slowest, then a minute or two for the retained messages):
  --messages N            messages of each phase of the messaging workload (default 20000):
                          publish, consume, end to end, 1 KiB each, 64 in flight (--concurrency)
  --messaging-targets a,b brokers to measure, each through its Switchboard adapter and its own
                          client in every round (--rounds); default all: ${TARGET_IDS.join(', ')}
  --retained N            messages of 1 KiB retained in the embedded broker for its memory and
                          recovery figures (default 1000000, about 1.1 GB on disk; 0: left out)

  --fresh                 do not keep the parts this run leaves out from the previous raw JSON
                          (by default a run of some parts keeps the others in the report)
`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${value}`);
  return n;
}

function messagingTargets(value: string | undefined): TargetId[] {
  if (value === undefined) return [...TARGET_IDS];
  const chosen: TargetId[] = [];
  for (const name of value.split(',')) {
    const id = name.trim() as TargetId;
    if (!id) continue;
    if (!TARGET_IDS.includes(id))
      throw new Error(`--messaging-targets: unknown target ${name} (known: ${TARGET_IDS.join(', ')})`);
    if (!chosen.includes(id)) chosen.push(id);
  }
  if (!chosen.length) throw new Error('--messaging-targets: name at least one target');
  return chosen;
}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
      concurrency: { type: 'string' },
      'http-connections': { type: 'string' },
      'idle-connections': { type: 'string' },
      inflight: { type: 'string' },
      'inflight-connections': { type: 'string' },
      'moleculer-node': { type: 'string' },
      rate: { type: 'string' },
      'balancing-duration': { type: 'string' },
      pairs: { type: 'string' },
      'hub-instances': { type: 'string' },
      'hub-watchers': { type: 'string' },
      'hub-changes': { type: 'string' },
      messages: { type: 'string' },
      'messaging-targets': { type: 'string' },
      retained: { type: 'string' },
      fresh: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const only = new Set<Part>();
  for (const name of (values.only ?? PARTS.join(',')).split(',')) {
    const part = name.trim() as Part;
    if (!part) continue;
    if (!PARTS.includes(part)) throw new Error(`--only: unknown part ${name} (known: ${PARTS.join(', ')})`);
    only.add(part);
  }
  const warmupS = values.warmup === '0' ? 0 : positive('warmup', values.warmup, 2);
  const rounds = positive('rounds', values.rounds, 3);
  if (!Number.isInteger(rounds)) throw new Error(`--rounds must be a whole number, got ${values.rounds}`);
  return {
    durationS: positive('duration', values.duration, 10),
    warmupS,
    rounds,
    only,
    out: path.resolve(values.out ?? path.join(REPO_ROOT, 'docs/benchmarks.md')),
    json: path.resolve(values.json ?? path.join(REPO_ROOT, 'bench/results/latest.json')),
    concurrency: Math.round(positive('concurrency', values.concurrency, 64)),
    httpConnections: Math.round(positive('http-connections', values['http-connections'], 64)),
    idleConnections: Math.round(positive('idle-connections', values['idle-connections'], 1000)),
    inflightCalls: Math.round(positive('inflight', values.inflight, 10_000)),
    inflightConnections: Math.round(positive('inflight-connections', values['inflight-connections'], 16)),
    moleculerNode: values['moleculer-node'],
    ratePerS: positive('rate', values.rate, 2000),
    balancingDurationS: positive('balancing-duration', values['balancing-duration'], 3),
    pairs: Math.round(positive('pairs', values.pairs, 12)),
    hubInstances: Math.round(positive('hub-instances', values['hub-instances'], 10_000)),
    hubWatchers: Math.round(positive('hub-watchers', values['hub-watchers'], 1000)),
    hubChanges: Math.round(positive('hub-changes', values['hub-changes'], 20)),
    messages: Math.round(positive('messages', values.messages, 20_000)),
    messagingTargets: messagingTargets(values['messaging-targets']),
    retained: values.retained === '0' ? 0 : Math.round(positive('retained', values.retained, 1_000_000)),
    fresh: values.fresh ?? false,
    host: '127.0.0.1',
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
  };
}
