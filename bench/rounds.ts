import type { StackId } from './stacks/index.ts';
import type { ThroughputRow } from './throughput.ts';

/**
 * Rounds of the throughput part: the order the stacks run in each round, and how the rounds are
 * summed up (medians, ranges, ratios taken within one round). Pure functions, unit-tested.
 */

/** The zigzag 0, 1, n-1, 2, n-2, … that Williams designs are built from. */
function zigzag(n: number): number[] {
  const row = n > 0 ? [0] : [];
  for (let i = 1; row.length < n; i++) {
    row.push(i);
    if (row.length < n) row.push(n - i);
  }
  return row;
}

/**
 * The order the stacks run in round `round` (0-based): round 0 keeps the given order (so one round
 * behaves like a plain run), later rounds follow a Williams design, relabelled so that its first row
 * is that order. Over the first n rounds of n stacks, every stack runs once in every position (none
 * is always first or last); with an even n, every stack also runs right after every other one
 * exactly once, and with an odd n, rounds n to 2n-1 run the same orders reversed so that over 2n
 * rounds every stack runs right after every other exactly twice. Beyond that, the orders repeat.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  if (n < 2) return [...items];
  const base = zigzag(n);
  // Relabel: the value at position k of the base row stands for items[k].
  const label = new Map(base.map((value, k) => [value, k]));
  const r = ((round % (2 * n)) + 2 * n) % (2 * n);
  const order = base.map((value) => items[label.get((value + r) % n)!]!);
  return n % 2 === 1 && r >= n ? order.reverse() : order;
}

/** The median (the mean of the two middle values for an even count); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many values (rounds) it was taken over. */
  count: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  const m = median(values);
  if (m === undefined) return undefined;
  return { median: m, min: Math.min(...values), max: Math.max(...values), count: values.length };
}

/**
 * Per-round ratios a/b: only the rounds both values come from (a round where either stack failed,
 * or where b is 0, gives none). The maps go from round number to the round's figure.
 */
export function roundRatios(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
): { round: number; ratio: number }[] {
  const out: { round: number; ratio: number }[] = [];
  for (const [round, x] of [...a].sort(([r1], [r2]) => r1 - r2)) {
    const y = b.get(round);
    if (y !== undefined && y !== 0 && Number.isFinite(x) && Number.isFinite(y))
      out.push({ round, ratio: x / y });
  }
  return out;
}

/** One run of one stack in one round, raw. */
export interface ThroughputRound extends ThroughputRow {
  /** 0-based. */
  round: number;
  /** Where in that round's order the stack ran, 0-based. */
  position: number;
}

/** One stack over every round: medians and ranges of the rounds that succeeded, and every round raw. */
export interface StackSummary {
  id: StackId;
  label: string;
  /** ok when at least one round succeeded. */
  status: ThroughputRow['status'];
  note?: string;
  /** Node versions that ran it (more than one only if that changed between rounds). */
  node?: string;
  connections?: number;
  /** Medians over the rounds that succeeded (each figure on its own). */
  rps?: Spread;
  p50Ms?: number;
  p99Ms?: number;
  /** How many rounds succeeded, out of `rounds.length`. */
  okRounds: number;
  /** The 1-minute load average when each round's run started: lowest and highest. */
  loadAverage?: { min: number; max: number };
  rounds: ThroughputRound[];
}

/** The figures of the rounds in which the stack succeeded, by round. */
export function figureByRound(
  summary: StackSummary | undefined,
  pick: (row: ThroughputRound) => number | undefined,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const row of summary?.rounds ?? []) {
    const value = row.status === 'ok' && row.result ? pick(row) : undefined;
    if (value !== undefined) out.set(row.round, value);
  }
  return out;
}

/** Sums up one stack's rounds; `skipped` stands for a stack that did not run at all. */
export function summarizeStack(
  base: { id: StackId; label: string },
  rounds: readonly ThroughputRound[],
  skipped?: string,
): StackSummary {
  if (skipped !== undefined) return { ...base, status: 'skipped', note: skipped, okRounds: 0, rounds: [] };
  const ok = rounds.filter((r) => r.status === 'ok' && r.result);
  const results = ok.map((r) => r.result!);
  const nodes = [...new Set(rounds.map((r) => r.node).filter((n): n is string => n !== undefined))];
  const loads = rounds.map((r) => r.loadAverage).filter((n): n is number => n !== undefined);
  const notes: string[] = [];
  const failed = rounds.filter((r) => r.status !== 'ok');
  if (failed.length) {
    const first = failed[0]?.note ?? 'failed';
    notes.push(
      rounds.length > 1
        ? `failed in ${failed.length} of ${rounds.length} rounds: ${first.replace(/^failed: /, '')}`
        : first,
    );
  }
  const withErrors = ok.filter((r) => r.note);
  if (withErrors.length) {
    const first = withErrors[0]?.note ?? '';
    notes.push(rounds.length > 1 ? `round ${withErrors[0]!.round + 1}: ${first}` : first);
  }
  const connections = rounds.find((r) => r.connections !== undefined)?.connections;
  const rps = spread(results.map((r) => r.rps));
  const summary: Omit<StackSummary, 'rounds'> = {
    ...base,
    status: ok.length ? 'ok' : 'failed',
    okRounds: ok.length,
  };
  if (notes.length) summary.note = notes.join('; ');
  if (nodes.length) summary.node = nodes.join(', ');
  if (connections !== undefined) summary.connections = connections;
  if (rps) {
    summary.rps = rps;
    summary.p50Ms = median(results.map((r) => r.p50Ms));
    summary.p99Ms = median(results.map((r) => r.p99Ms));
  }
  if (loads.length) summary.loadAverage = { min: Math.min(...loads), max: Math.max(...loads) };
  // Last, so that the JSON shows the medians before the raw rounds.
  return { ...summary, rounds: [...rounds] };
}
