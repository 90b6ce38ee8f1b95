/**
 * Go durations, as Consul reads and writes them ("10s", "1m30s", "250ms", "1.5h"). Consul
 * also takes a bare JSON number as nanoseconds in check definitions.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds of a Go duration string, or of a number of nanoseconds; throws a TypeError. */
export function parseGoDuration(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`time: invalid duration ${value}`);
    return value / 1e6;
  }
  if (typeof value !== 'string') throw new TypeError(`time: invalid duration ${JSON.stringify(value)}`);
  const text = value.startsWith('+') ? value.slice(1) : value;
  if (text === '0') return 0;
  if (text.length === 0 || text.length > 64) throw invalid(value);
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (!match || match.index !== start) throw invalid(value);
    ms += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(ms)) throw invalid(value);
  return ms;
}

/** "10s" for whole seconds, "1500ms" otherwise: both forms every Go parser reads. */
export function formatGoDuration(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

function invalid(value: string): TypeError {
  return new TypeError(`time: invalid duration ${JSON.stringify(value)}`);
}
