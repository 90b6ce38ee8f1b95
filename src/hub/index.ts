export { consulApi } from './api/consul-api.ts';
export { type EurekaApiOptions, eurekaApi, eurekaApiWith } from './api/eureka-api.ts';
export type { HubApi, HubState } from './api/hub-api.ts';
export { RegistryApi, type RegistryApiOptions, registryApi } from './api/registry-api.ts';
export { DEFAULT_HUB_PORT, HubServer, type HubServerOptions, type HubStats } from './server.ts';
export {
  type DashboardSnapshot,
  type EdgeStats,
  type SpanRecord,
  TelemetryApi,
  type TelemetryOptions,
  type TraceSummary,
} from './telemetry/index.ts';
