/**
 * Which old segments to delete. Whole segments only, oldest first, never the active one, and
 * deletion stops at the first segment that may stay: offsets stay contiguous from the log's
 * new start.
 */

export interface RetentionPolicy {
  /** Delete old segments while the log is larger than this (the active segment may exceed it). */
  maxBytes?: number;
  /** Delete segments whose newest record is older than this (ms, by record timestamps). */
  maxAgeMs?: number;
  /** How often to check, besides on every roll. Default 60 s. */
  checkIntervalMs?: number;
}

export interface SegmentFacts {
  size: number;
  /** -1 for an empty segment. */
  maxTimestamp: number;
}

/** How many of the first `segments` to delete; the last one (the active segment) always stays. */
export function segmentsToDelete(
  segments: readonly SegmentFacts[],
  now: number,
  policy: RetentionPolicy,
): number {
  let total = segments.reduce((sum, s) => sum + s.size, 0);
  let count = 0;
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    const tooBig = policy.maxBytes !== undefined && total > policy.maxBytes;
    const tooOld = policy.maxAgeMs !== undefined && now - s.maxTimestamp > policy.maxAgeMs;
    if (!tooBig && !tooOld) break;
    total -= s.size;
    count++;
  }
  return count;
}

/** True when the active segment holds records and all of them are past maxAgeMs: roll it so it can go. */
export function activeExpired(active: SegmentFacts, now: number, policy: RetentionPolicy): boolean {
  return policy.maxAgeMs !== undefined && active.size > 0 && now - active.maxTimestamp > policy.maxAgeMs;
}

export function validateRetention(policy: RetentionPolicy | undefined): void {
  if (policy === undefined) return;
  for (const key of ['maxBytes', 'maxAgeMs', 'checkIntervalMs'] as const) {
    const v = policy[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && !Number.isNaN(v))) {
      throw new RangeError(`retention.${key}: expected a number >= 0, got ${v}`);
    }
  }
}
