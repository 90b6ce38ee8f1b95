export {
  type ApiDocumentsOptions,
  ASYNCAPI_PATH,
  apiDocumentEndpoints,
  OPENAPI_PATH,
} from './api-documents.ts';
export { HubBroker, type HubBrokerOptions } from './brokers/index.ts';
export {
  type ConnectedClient,
  clientTransport,
  clusterTransport,
  connect,
  type DiscoveryOptions,
  endpointTransport,
  parseTarget,
  type TlsClientOptions,
  TRANSPORT_KINDS,
  type TransportKind,
  type TransportOptions,
} from './connect.ts';
export { EjectionReporter, type EjectionReporterOptions, type ReporterTimers } from './ejection-reporter.ts';
export { limitsInterceptor, type ServerLimits } from './limits.ts';
export * from './messaging/index.ts';
export { Observability, type ObservabilityOptions } from './observability.ts';
export { instancesFor, type RegistrationOptions, registerAll } from './registration.ts';
export { Server, type ServerAddresses, type ServerOptions } from './server.ts';
