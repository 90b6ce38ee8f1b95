/**
 * The messaging part's results as the raw JSON keeps them, and the pure functions that sum them
 * up: each side's medians over the rounds, and ratios taken within a round.
 */
import type { PartRun, PartStatus } from '../cluster-results.ts';
import type { MemorySample } from '../protocol.ts';
import { median, roundRatios, type Spread, spread } from '../rounds.ts';
import type { Side, TargetId } from './targets.ts';
import type { PhaseResult, WorkloadResult } from './workload.ts';

/** One side of one target in one round. */
export interface MessagingRun {
  target: TargetId;
  side: Side;
  /** 0-based. */
  round: number;
  /** Where the target ran in the round's order, 0-based. */
  position: number;
  /** ok when the workload ran to its end; each phase still has a status of its own. */
  status: PartStatus;
  note?: string;
  /** The 1-minute load average as it started. */
  loadAverage: number;
  node?: string;
  result?: WorkloadResult;
}

/** The embedded broker holding many messages, then killed mid-load and reopened. */
export interface RetainedResult {
  status: PartStatus;
  note?: string;
  messages: number;
  payloadBytes: number;
  /** Appending the messages to the log, and the broker's first open of the full topic, ms. */
  fillMs?: number;
  openMs?: number;
  memory?: { empty: MemorySample; retained: MemorySample };
  /** The load the hub was killed in: publishes acknowledged, failed, and for how long, ms. */
  load?: { acked: number; failed: number; ms: number; inFlight: number };
  recovery?: {
    ms: number;
    cleanMs: number;
    /** Records in the topic after recovery, and how many there had to be at least. */
    records: number;
    expected: number;
    /** Acknowledged messages missing: 0 when nothing was lost. */
    missing: number;
    logBytes: number;
  };
}

export interface MessagingResult {
  run: PartRun;
  settings: {
    messages: number;
    inFlight: number;
    payloadBytes: number;
    warmupMessages: number;
    phaseTimeoutMs: number;
    consumerWindow: number;
    rounds: number;
    targets: TargetId[];
    /** Messages of the memory and recovery part; 0: not run. */
    retained: number;
  };
  status: PartStatus;
  note?: string;
  /** Targets, or one side of a target, that did not run, and why. */
  skipped: { target: TargetId; side?: Side; reason: string }[];
  /** What the report should say about a server's setup (e.g. Redis persistence). */
  servers: Partial<Record<TargetId, string>>;
  /** The targets in the order each round ran them. */
  orders: TargetId[][];
  runs: MessagingRun[];
  retained?: RetainedResult;
}

export type Phase = 'publish' | 'consume' | 'endToEnd';

/** A figure of a phase, when the phase succeeded. */
export type PhaseFigure = (phase: PhaseResult) => number | undefined;

export const msgsPerS: PhaseFigure = (p) => p.msgsPerS;
export const p50: PhaseFigure = (p) => p.latency?.p50;
export const p99: PhaseFigure = (p) => p.latency?.p99;

/** One side's figure of `phase` by round, for the rounds that phase succeeded in. */
export function phaseByRound(
  result: MessagingResult | undefined,
  target: TargetId,
  side: Side,
  phase: Phase,
  pick: PhaseFigure,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const run of result?.runs ?? []) {
    if (run.target !== target || run.side !== side || !run.result) continue;
    const figures = run.result[phase];
    const value = figures.status === 'ok' ? pick(figures) : undefined;
    if (value !== undefined && Number.isFinite(value)) out.set(run.round, value);
  }
  return out;
}

export interface SideSummary {
  target: TargetId;
  side: Side;
  driver?: string;
  /** Rounds in which every phase succeeded, of the rounds it ran in. */
  okRounds: number;
  rounds: number;
  publish?: Spread;
  publishP50Ms?: number;
  publishP99Ms?: number;
  consume?: Spread;
  endToEnd?: Spread;
  endToEndP50Ms?: number;
  endToEndP99Ms?: number;
  duplicates: number;
  note?: string;
}

/** One side over the rounds: each figure the median of the rounds its phase succeeded in. */
export function summarizeSide(result: MessagingResult, target: TargetId, side: Side): SideSummary {
  const runs = result.runs.filter((r) => r.target === target && r.side === side);
  const of = (phase: Phase, pick: PhaseFigure) => [
    ...phaseByRound(result, target, side, phase, pick).values(),
  ];
  const phases = (r: MessagingRun) =>
    r.result ? [r.result.publish, r.result.consume, r.result.endToEnd] : [];
  const notes = runs.flatMap((r) => {
    const texts = [r.note, ...phases(r).map((p) => (p.status === 'ok' ? p.note : (p.note ?? 'failed')))];
    texts.push(r.result?.cleanupNote);
    const present = [...new Set(texts.filter((t): t is string => Boolean(t)))];
    return present.length ? [`round ${r.round + 1}: ${present.join('; ')}`] : [];
  });
  return {
    target,
    side,
    driver: runs.find((r) => r.result)?.result?.driver,
    okRounds: runs.filter((r) => r.status === 'ok' && phases(r).every((p) => p.status === 'ok')).length,
    rounds: runs.length,
    publish: spread(of('publish', msgsPerS)),
    publishP50Ms: median(of('publish', p50)),
    publishP99Ms: median(of('publish', p99)),
    consume: spread(of('consume', msgsPerS)),
    endToEnd: spread(of('endToEnd', msgsPerS)),
    endToEndP50Ms: median(of('endToEnd', p50)),
    endToEndP99Ms: median(of('endToEnd', p99)),
    duplicates: runs.reduce((n, r) => n + phases(r).reduce((m, p) => m + (p.duplicates ?? 0), 0), 0),
    note: notes.length ? notes.join(' · ') : undefined,
  };
}

/** a/b of one phase's figure within each round both succeeded in. */
export function sideRatios(
  result: MessagingResult | undefined,
  a: { target: TargetId; side: Side },
  b: { target: TargetId; side: Side },
  phase: Phase,
  pick: PhaseFigure = msgsPerS,
): number[] {
  return roundRatios(
    phaseByRound(result, a.target, a.side, phase, pick),
    phaseByRound(result, b.target, b.side, phase, pick),
  ).map((r) => r.ratio);
}
