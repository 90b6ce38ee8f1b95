/**
 * Governance as metrics: the ClusterEvents observer a ClusterTransport takes (`events` in its
 * options, or in connect()'s), recording retries, refused retries and ejections. The cluster
 * knows nothing of metrics; this is one observer among any others.
 */
import type { Metrics } from './metrics.ts';

/** The hooks of src/cluster/cluster-events.ts ClusterEvents, restated: observe does not import cluster. */
export interface ClusterMetricsObserver {
  retry(event: { service: string; method: string }): void;
  retryBudgetExhausted(event: { service: string; method: string }): void;
  ejected(event: { service: string }): void;
  ejectionEnded(event: { service: string }): void;
}

/** One observer may serve every cluster of a process: series add up per service. */
export function clusterMetricsObserver(metrics: Metrics): ClusterMetricsObserver {
  const retries = metrics.counter(
    'switchboard_client_retries_total',
    'Calls sent again to an instance after a failed attempt, and hedges, by the cluster client.',
    ['service', 'method'],
  );
  const exhausted = metrics.counter(
    'switchboard_retry_budget_exhausted_total',
    'Retries (and hedges) the cluster would have made and the retry budget refused.',
    ['service', 'method'],
  );
  const ejectedNow = metrics.gauge(
    'switchboard_ejected_instances',
    'Instances out of rotation now (outlier ejection), over every cluster client of the service.',
    ['service'],
  );
  const ejections = metrics.counter(
    'switchboard_ejections_total',
    'Times an instance was taken out of rotation by outlier detection.',
    ['service'],
  );
  return {
    retry: ({ service, method }) => retries.inc({ service, method }),
    retryBudgetExhausted: ({ service, method }) => exhausted.inc({ service, method }),
    ejected: ({ service }) => {
      ejections.inc({ service });
      ejectedNow.inc({ service });
    },
    ejectionEnded: ({ service }) => ejectedNow.dec({ service }),
  };
}
