export { type ClientOptions, createClient, PROPAGATED_HEADERS } from './client.ts';
export {
  type CallContext,
  currentCall,
  type PeerIdentity,
  ServerCallContext,
  type ServerCallInit,
  type TransportName,
} from './context.ts';
export {
  DEFAULT_DEADLINE_MS,
  type Deadline,
  deadlineFromTimeout,
  earliest,
  formatGrpcTimeout,
  MAX_TIMEOUT_MS,
  parseGrpcTimeout,
  timeRemaining,
} from './deadline.ts';
export { type HostedMethod, type Send, ServiceHost, type ServiceHostOptions } from './host.ts';
export { type ClientInterceptor, chainClient, chainServer, type ServerInterceptor } from './interceptors.ts';
export type {
  CallOptions,
  ClientTransport,
  ListenAddress,
  OutgoingCall,
  ServerTransport,
} from './transport.ts';
export type * from './types.ts';
