import os from 'node:os';
import type { TransportKind } from '../src/app/connect.ts';
import type { HubStats } from '../src/hub/server.ts';
import type { GovernanceSlice } from './cluster-protocol.ts';
import type { OpenLoopResult } from './open-loop.ts';
import type { MemorySample } from './protocol.ts';
import { median, type Spread, spread } from './rounds.ts';

/**
 * The results of the cluster parts (balancing, governance, hub) as the raw JSON keeps them, and
 * the pure functions that sum them up. Each part says which run produced it, because a run of
 * some parts keeps the others from the previous run's JSON (see merge.ts).
 */

/** Which run produced a part's figures. */
export interface PartRun {
  command: string;
  date: string;
  node: string;
  /** 1, 5 and 15-minute load averages as the part started and ended. */
  loadBefore: number[];
  loadAfter: number[];
}

export function startPart(command: string): () => PartRun {
  const date = new Date().toISOString();
  const loadBefore = os.loadavg();
  return () => ({ command, date, node: process.version, loadBefore, loadAfter: os.loadavg() });
}

export type PartStatus = 'ok' | 'failed';

// ---- balancing ----

export type ScenarioId = 'healthy' | 'round_robin' | 'p2c_peak_ewma' | 'least_outstanding';

/** One scenario in one round. */
export interface BalancingRun {
  scenario: ScenarioId;
  /** 0-based. */
  round: number;
  /** Where in the round's order it ran, 0-based. */
  position: number;
  status: PartStatus;
  note?: string;
  /** The 1-minute load average as it started. */
  loadAverage: number;
  result?: OpenLoopResult;
  /** Share of its calls (warm-up included) that the slow instance answered; only with a slow one. */
  slowShare?: number;
}

export interface BalancingResult {
  run: PartRun;
  settings: {
    instances: number;
    healthyMs: number;
    slowMs: number;
    ratePerS: number;
    warmupS: number;
    durationS: number;
    rounds: number;
  };
  status: PartStatus;
  note?: string;
  /** The scenarios as each round ran them. */
  orders: ScenarioId[][];
  runs: BalancingRun[];
}

/** A scenario over the rounds: medians of the rounds it succeeded in. */
export interface ScenarioSummary {
  id: ScenarioId;
  okRounds: number;
  rounds: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  rps?: number;
  slowShare?: number;
  lagP99Ms?: number;
  loadAverage?: { min: number; max: number };
  note?: string;
}

export function summarizeScenario(result: BalancingResult, id: ScenarioId): ScenarioSummary {
  const runs = result.runs.filter((r) => r.scenario === id);
  const ok = runs.filter((r) => r.status === 'ok' && r.result).map((r) => ({ ...r, result: r.result! }));
  const of = (pick: (r: (typeof ok)[number]) => number | undefined) =>
    median(ok.map(pick).filter((n): n is number => n !== undefined && Number.isFinite(n)));
  const loads = runs.map((r) => r.loadAverage);
  const notes = runs.filter((r) => r.note).map((r) => `round ${r.round + 1}: ${r.note}`);
  return {
    id,
    okRounds: ok.length,
    rounds: runs.length,
    p50Ms: of((r) => r.result.p50Ms),
    p99Ms: of((r) => r.result.p99Ms),
    p999Ms: of((r) => r.result.p999Ms),
    rps: of((r) => r.result.rps),
    slowShare: of((r) => r.slowShare),
    lagP99Ms: of((r) => r.result.lagP99Ms),
    loadAverage: loads.length ? { min: Math.min(...loads), max: Math.max(...loads) } : undefined,
    note: notes.length ? notes.join('; ') : undefined,
  };
}

/** A scenario's p99 by round, for per-round ratios (rounds.ts roundRatios). */
export function p99ByRound(result: BalancingResult | undefined, id: ScenarioId): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of result?.runs ?? [])
    if (r.scenario === id && r.status === 'ok' && r.result && Number.isFinite(r.result.p99Ms))
      out.set(r.round, r.result.p99Ms);
  return out;
}

// ---- governance ----

export interface ClientSummary {
  rps?: Spread;
  p50Ms?: number;
  p99Ms?: number;
  /** Median over the slices of the client process's CPU time per call, µs. */
  cpuUsPerCall?: number;
  errors: number;
}

/** One transport of the governance part: direct vs by name over it. */
export interface GovernanceTransportResult {
  transport: TransportKind;
  status: PartStatus;
  note?: string;
  /** Keep-alive connections of each side's pool (HTTP only). */
  connections?: number;
  direct?: ClientSummary;
  cluster?: ClientSummary;
  /** cluster req/s over direct req/s, one per pair of slices. */
  ratios: number[];
}

export interface GovernanceResult {
  run: PartRun;
  settings: {
    concurrency: number;
    warmupS: number;
    sliceS: number;
    /** Pairs per transport. */
    pairs: number;
    transports?: TransportKind[];
    httpConnections?: number;
  };
  status: PartStatus;
  note?: string;
  /** One per transport measured, in the order they ran. */
  transports: GovernanceTransportResult[];
  slices: GovernanceSlice[];
}

/** A governance result as an earlier harness saved it: native only, its figures at the top. */
type SavedGovernance = Omit<GovernanceResult, 'transports'> & {
  transports?: GovernanceTransportResult[];
  direct?: ClientSummary;
  cluster?: ClientSummary;
  ratios?: number[];
};

/** The transports of a governance result, read from an earlier harness's JSON too. */
export function governanceTransports(result: GovernanceResult): GovernanceTransportResult[] {
  const saved = result as SavedGovernance;
  if (saved.transports) return saved.transports;
  const { status, note, direct, cluster, ratios = [] } = saved;
  return [{ transport: 'native', status, note, direct, cluster, ratios }];
}

/** Sums up the slices of one transport. */
export function summarizeTransport(
  slices: readonly GovernanceSlice[],
  transport: TransportKind,
  connections?: number,
): GovernanceTransportResult {
  const mine = slices.filter((s) => s.transport === transport);
  const direct = summarizeSlices(mine, 'direct');
  const cluster = summarizeSlices(mine, 'cluster');
  const errors = direct.errors + cluster.errors;
  const firstError = mine.find((s) => s.result.firstError)?.result.firstError;
  return {
    transport,
    status: direct.rps && cluster.rps ? 'ok' : 'failed',
    note: errors > 0 ? `${errors} errors, first: ${firstError}` : undefined,
    ...(connections === undefined ? {} : { connections }),
    direct,
    cluster,
    ratios: pairRatios(mine),
  };
}

export function summarizeSlices(
  slices: readonly GovernanceSlice[],
  client: GovernanceSlice['client'],
): ClientSummary {
  const mine = slices.filter((s) => s.client === client && s.result.requests > 0).map((s) => s.result);
  const summary: ClientSummary = {
    errors: slices.filter((s) => s.client === client).reduce((n, s) => n + s.result.errors, 0),
  };
  const rps = spread(mine.map((r) => r.rps));
  if (rps) {
    summary.rps = rps;
    summary.p50Ms = median(mine.map((r) => r.p50Ms));
    summary.p99Ms = median(mine.map((r) => r.p99Ms));
    summary.cpuUsPerCall = median(
      slices.filter((s) => s.client === client && s.result.requests > 0).map((s) => s.cpuUsPerCall),
    );
  }
  return summary;
}

/** cluster/direct req/s within each pair (both slices ran back to back), in pair order; one transport's slices. */
export function pairRatios(slices: readonly GovernanceSlice[]): number[] {
  const pairs = [...new Set(slices.map((s) => s.pair))].sort((a, b) => a - b);
  const out: number[] = [];
  for (const pair of pairs) {
    const rps = (client: GovernanceSlice['client']) =>
      slices.find((s) => s.pair === pair && s.client === client)?.result.rps;
    const cluster = rps('cluster');
    const direct = rps('direct');
    if (cluster !== undefined && direct !== undefined && direct > 0) out.push(cluster / direct);
  }
  return out;
}

// ---- hub ----

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (of 20 values, p99 is the largest); undefined when empty. */
export function percentiles(values: readonly number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
  return { count: sorted.length, p50: rank(50), p99: rank(99), max: sorted[sorted.length - 1]! };
}

export interface HubChange {
  kind: 'register' | 'deregister';
  service: string;
  index: number;
  /** ms from the change's request to each watcher of the service having the event. */
  deliveries: number[];
  /** Watchers of the service that never had it (within the timeout). */
  missing: number;
  /** A warm-up change: made and timed, but left out of the figures. */
  warmup?: boolean;
}

export interface WatchCase {
  id: 'one-service' | 'spread';
  label: string;
  watchers: number;
  /** Watchers of each changed service. */
  watchersPerService: number;
  /** Bytes of one event of a watched service (its full instance list). */
  eventBytes: number;
  /** Time to open every stream and have its first event. */
  openMs: number;
  status: PartStatus;
  note?: string;
  changes: HubChange[];
}

export interface HubResult {
  run: PartRun;
  settings: {
    instances: number;
    services: number;
    watchers: number;
    changes: number;
    clientProcesses: number;
  };
  status: PartStatus;
  note?: string;
  /** Registering every instance through HubRegistry. */
  register?: { ms: number; concurrency: number; errors: number };
  memory?: { empty: MemorySample; registered: MemorySample; watching?: MemorySample };
  stats?: HubStats;
  cases: WatchCase[];
}

export interface WatchFigures {
  /** Every delivery of every measured change. */
  delivery?: Percentiles;
  /** Each change's time to its first watcher: what the hub takes before anything leaves. */
  firstWatcher?: Percentiles;
  /** Each change's time to its last watcher (changes some watcher missed are left out). */
  everyWatcher?: Percentiles;
  missing: number;
  /** Time to the last watcher of each warm-up change. */
  warmupMs: number[];
}

const maxOf = (values: readonly number[]) =>
  values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
const minOf = (values: readonly number[]) =>
  values.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);

export function watchFigures(c: WatchCase): WatchFigures {
  const measured = c.changes.filter((ch) => !ch.warmup);
  const complete = measured.filter((ch) => ch.missing === 0 && ch.deliveries.length > 0);
  return {
    delivery: percentiles(measured.flatMap((ch) => ch.deliveries)),
    firstWatcher: percentiles(
      measured.filter((ch) => ch.deliveries.length > 0).map((ch) => minOf(ch.deliveries)),
    ),
    everyWatcher: percentiles(complete.map((ch) => maxOf(ch.deliveries))),
    missing: measured.reduce((n, ch) => n + ch.missing, 0),
    warmupMs: c.changes
      .filter((ch) => ch.warmup && ch.deliveries.length > 0)
      .map((ch) => maxOf(ch.deliveries)),
  };
}
