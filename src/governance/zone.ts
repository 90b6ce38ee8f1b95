import type { Candidate } from './balancer.ts';

export interface ZoneOptions {
  /** Fewest local candidates worth staying local for. Default 1; values below 1 count as 1. */
  minLocal?: number;
}

/**
 * The candidates in `zone` when there are at least minLocal of them, else all: calls stay in
 * the caller's zone (lower latency, no cross-zone traffic charges) while the zone can serve
 * them, and spill over rather than fail when it cannot. Filter ejected instances first, so a
 * zone whose instances are all ejected spills over. Without a zone, all candidates.
 */
export function preferZone<C extends Candidate>(
  candidates: readonly C[],
  zone: string | undefined,
  options: ZoneOptions = {},
): readonly C[] {
  if (zone === undefined) return candidates;
  const minLocal = Math.max(1, options.minLocal ?? 1);
  const local = candidates.filter((c) => c.zone === zone);
  return local.length >= minLocal ? local : candidates;
}
