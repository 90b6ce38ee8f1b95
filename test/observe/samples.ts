/** Reading metric samples in tests: one series' value, by family name and exact labels. */
import type { Metrics } from '../../src/observe/metrics/index.ts';

/**
 * The value of the series of `family` (a histogram's `_count`/`_sum`/`_bucket` by its full
 * name) whose labels include `labels`; 0 when there is none. Several matches add up.
 */
export async function sample(
  metrics: Metrics,
  family: string,
  labels: Readonly<Record<string, string | number>> = {},
  series = family,
): Promise<number> {
  const values = (await metrics.values(family)) ?? [];
  let sum = 0;
  for (const value of values) {
    const name = (value as { metricName?: string }).metricName ?? family;
    if (name !== series) continue;
    const own = value.labels as Record<string, string | number | undefined>;
    if (Object.entries(labels).every(([k, v]) => String(own[k]) === String(v))) sum += value.value;
  }
  return sum;
}

/** A histogram's observation count for `labels`. */
export function histogramCount(
  metrics: Metrics,
  family: string,
  labels: Readonly<Record<string, string>>,
): Promise<number> {
  return sample(metrics, family, labels, `${family}_count`);
}
