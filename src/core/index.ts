export { createClient, type ClientOptions, PROPAGATED_HEADERS } from './client.ts';
export { type CallContext, currentCall, ServerCallContext, type ServerCallInit, type TransportName } from './context.ts';
export {
  type Deadline,
  DEFAULT_DEADLINE_MS,
  deadlineFromTimeout,
  earliest,
  formatGrpcTimeout,
  MAX_TIMEOUT_MS,
  parseGrpcTimeout,
  timeRemaining,
} from './deadline.ts';
export { type HostedMethod, type Send, ServiceHost, type ServiceHostOptions } from './host.ts';
export { chainClient, chainServer, type ClientInterceptor, type ServerInterceptor } from './interceptors.ts';
export type { CallOptions, ClientTransport, ListenAddress, OutgoingCall, ServerTransport } from './transport.ts';
export type * from './types.ts';
