export { retryable, type Verdict, verdictOf } from './call-outcome.ts';
export {
  type ClusterEvents,
  combineClusterEvents,
  type EjectionEnd,
  type EjectionEvent,
  type RetryEvent,
} from './cluster-events.ts';
export {
  type ClusterOptions,
  ClusterTransport,
  DEFAULT_TRANSPORT_PREFERENCE,
  type RetryOptions,
} from './cluster-transport.ts';
export { type EndpointConnector, EndpointPool, type Member } from './endpoint-pool.ts';
export { type HealthCheckOptions, type HealthProbe, HealthProber } from './health-prober.ts';
export { ServiceResolver, type ServiceResolverOptions } from './service-resolver.ts';
