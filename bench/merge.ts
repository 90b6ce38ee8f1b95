import { existsSync, readFileSync } from 'node:fs';
import { type Part, SEPARATE_PARTS } from './options.ts';
import type { RunResults } from './report.ts';

/**
 * A run of some parts keeps the others: the report is rebuilt from this run's results plus the
 * previous run's raw JSON for the parts this run left out. The stacks, h2load and memory are one
 * group (their preamble describes one run): a run of any of them replaces the whole group. Each
 * cluster part (balancing, governance, hub) and the messaging part carries its own run, and is
 * replaced only when run.
 */

const CLASSIC_KEYS = ['env', 'settings', 'throughput', 'orders', 'h2load', 'idle', 'inflight'] as const;

/** The previous raw results, or undefined (with the reason) when there are none or they are unreadable. */
export function readPrevious(file: string): { previous?: RunResults; why?: string } {
  if (!existsSync(file)) return { why: `no ${file}` };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunResults>;
    if (!parsed.env || !parsed.settings || !Array.isArray(parsed.throughput))
      return { why: `${file} is not the harness's raw JSON` };
    return { previous: parsed as RunResults };
  } catch (err) {
    return { why: `${file} is unreadable: ${(err as Error).message}` };
  }
}

function hasClassic(results: RunResults): boolean {
  return (
    results.throughput.length > 0 ||
    results.h2load.length > 0 ||
    results.idle.length > 0 ||
    results.inflight.length > 0
  );
}

/** This run's results with the parts it did not run taken from `previous`; `carried` names them. */
export function mergeResults(
  current: RunResults,
  previous: RunResults | undefined,
  ran: ReadonlySet<Part>,
): { results: RunResults; carried: string[] } {
  const results: RunResults = { ...current };
  const carried: string[] = [];
  if (!previous) return { results, carried };
  const ranClassic = [...ran].some(
    (part) => !SEPARATE_PARTS.includes(part as (typeof SEPARATE_PARTS)[number]),
  );
  if (!ranClassic && hasClassic(previous)) {
    for (const key of CLASSIC_KEYS) Object.assign(results, { [key]: previous[key] });
    carried.push(`stacks, h2load and memory (${previous.settings.command}, ${previous.env.date})`);
  }
  for (const part of SEPARATE_PARTS) {
    const earlier = previous[part];
    if (!ran.has(part) && earlier) {
      Object.assign(results, { [part]: earlier });
      carried.push(`${part} (${earlier.run.command}, ${earlier.run.date})`);
    }
  }
  return { results, carried };
}
