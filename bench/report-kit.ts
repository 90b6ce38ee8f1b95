import { median, spread } from './rounds.ts';

/** Formatting, tables, and the comparison lines with their verdicts, shared by the report's sections. */

export const int = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US');
export const ms = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(1);
export const times = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : `${n.toFixed(2)}×`;
export const kib = (bytes: number | undefined) => (bytes === undefined ? '—' : (bytes / 1024).toFixed(1));
export const mib = (bytes: number | undefined) => (bytes === undefined ? '—' : (bytes / 2 ** 20).toFixed(1));
export const cell = (text: string | undefined) => (text ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');

export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** "lowest–highest", plus how many of `count` rounds (or pairs) it covers when some gave nothing. */
export function range(
  values: readonly number[],
  count: number,
  format: (n: number) => string,
  unit = '',
  noun = 'rounds',
): string {
  const sp = spread(values);
  if (!sp) return '—';
  const text = sp.min === sp.max ? `${format(sp.min)}${unit}` : `${format(sp.min)}–${format(sp.max)}${unit}`;
  return sp.count < count ? `${text} (${sp.count} of ${count} ${noun})` : text;
}

/** A comparison line: a ratio (or a time), and a verdict when the project set a target for it. */
export interface Comparison {
  name: string;
  /** One value per round (or pair) it was measured in; a single value when it ran once. */
  values: number[];
  /** Set when the values come from repeated runs: what they are and how many ran. */
  over?: { noun: 'rounds' | 'pairs'; count: number };
  /** The (median) value must be at least this... */
  atLeast?: number;
  /** ...at most this... */
  atMost?: number;
  /** ...or below this. */
  below?: number;
  /** A ratio (×) unless 'ms'. */
  unit?: 'ms';
  note?: string;
}

const fixed = (n: number) => (Number.isInteger(n * 10) ? n.toFixed(1) : n.toFixed(2));

export function measured(c: Comparison, value: number | undefined): string {
  if (c.unit === 'ms') return value === undefined || !Number.isFinite(value) ? 'n/a' : `${ms(value)} ms`;
  return times(value);
}

export function target(c: Comparison): string {
  const unit = c.unit === 'ms' ? ' ms' : '×';
  if (c.atLeast !== undefined) return `≥ ${fixed(c.atLeast)}${unit}`;
  if (c.atMost !== undefined) return `≤ ${fixed(c.atMost)}${unit}`;
  if (c.below !== undefined) return `< ${c.unit === 'ms' ? c.below : fixed(c.below)}${unit}`;
  return c.note ?? '—';
}

function meets(c: Comparison, v: number): boolean {
  return (
    (c.atLeast === undefined || v >= c.atLeast) &&
    (c.atMost === undefined || v <= c.atMost) &&
    (c.below === undefined || v < c.below)
  );
}

export function verdict(c: Comparison): string {
  const value = median(c.values);
  if (value === undefined || !Number.isFinite(value)) return 'n/a (not measured)';
  if (c.atLeast === undefined && c.atMost === undefined && c.below === undefined) return '—';
  const text = meets(c, value) ? '**met**' : '**not met**';
  const metCount = c.values.filter((v) => meets(c, v)).length;
  // The median decides; say so when the rounds (or pairs) did not all agree.
  if (c.over && metCount > 0 && metCount < c.values.length)
    return `${text} (met in ${metCount} of ${c.values.length} ${c.over.noun})`;
  return text;
}
