export { ContractFetcher, type ContractFetcherOptions, type ServiceContract } from './contract-fetcher.ts';
export { EjectionReports, type EjectionReportsOptions } from './ejection-reports.ts';
export { DEFAULT_OTLP_LIMITS, type OtlpLimits, parseOtlpTraces } from './otlp-json.ts';
export { renderProtoFile } from './proto-text.ts';
export type {
  DashboardSnapshot,
  InstanceView,
  ServiceView,
  SnapshotSources,
  TopicView,
} from './snapshot.ts';
export { SnapshotBuilder } from './snapshot.ts';
export type { AttributeValue, SpanKindName, SpanRecord, SpanStatusCode } from './span-record.ts';
export { OTLP_TRACES_PATH, TelemetryApi, type TelemetryOptions, telemetryApi } from './telemetry-api.ts';
export { type EdgeStats, TopologyStats, type TopologyStatsOptions } from './topology-stats.ts';
export { TraceStore, type TraceStoreOptions, type TraceSummary } from './trace-store.ts';
