export {
  type CallInterceptors,
  type CallMetricsOptions,
  codeOf,
  metricsInterceptors,
} from './call-metrics.ts';
export { type ClusterMetricsObserver, clusterMetricsObserver } from './cluster-metrics.ts';
export {
  DEFAULT_METRICS_PORT,
  METRICS_PATH,
  type MetricsHandler,
  type MetricsListener,
  metricsEndpoint,
  type ServeMetricsOptions,
  serveMetrics,
} from './endpoint.ts';
export { type ConsumeOutcome, MeteredBroker, watchBrokerStats } from './metered-broker.ts';
export { Metrics, type MetricsOptions, RPC_BUCKETS } from './metrics.ts';
