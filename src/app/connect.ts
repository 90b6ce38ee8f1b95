import { combineClusterEvents } from '../cluster/cluster-events.ts';
import { type ClusterOptions, ClusterTransport } from '../cluster/cluster-transport.ts';
import type { HealthCheckOptions, HealthProbe } from '../cluster/health-prober.ts';
import type { ServiceDescriptor } from '../contract/descriptors.ts';
import { type ClientOptions, createClient } from '../core/client.ts';
import type { ClientTransport } from '../core/transport.ts';
import type { Client, ServiceTypes, UntypedService } from '../core/types.ts';
import { type Endpoint, endpointTarget } from '../discovery/instance.ts';
import { GrpcClientTransport } from '../transports/grpc/index.ts';
import { HttpClientTransport } from '../transports/http/index.ts';
import { NativeClientTransport } from '../transports/native/index.ts';
import type { TlsFiles } from '../transports/tls/tls-files.ts';
import { standardHealthProbe } from './health-probe.ts';
import type { Observability } from './observability.ts';

export type TransportKind = 'grpc' | 'http' | 'native';

export const TRANSPORT_KINDS: readonly TransportKind[] = ['grpc', 'http', 'native'];

/**
 * A client's TLS: the CA to trust and, for mutual TLS, its certificate and key, inline or as
 * PEM files (`caFile`, `certFile`, `keyFile`; read again for new connections when they change).
 */
export interface TlsClientOptions extends TlsFiles {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  /** Trouble with changed files (the last good ones stay in use): a process warning unless set. */
  onTlsFileError?: (err: Error) => void;
}

export interface TransportOptions {
  /** "host:port", or a URL whose scheme names the transport: grpc://, grpcs://, http://, https://, native://. */
  target: string;
  /** Which transport, when the target has no scheme. gRPC unless set: every server speaks it. */
  transport?: TransportKind;
  tls?: TlsClientOptions | boolean;
  maxMessageBytes?: number;
  /** HTTP only: keep-alive connections in the pool, one call each at a time (32 unless set). */
  httpConnections?: number;
}

/** Splits a target into transport, "host:port" and whether TLS is on. */
export function parseTarget(
  target: string,
  fallback: TransportKind = 'grpc',
): {
  kind: TransportKind;
  address: string;
  tls: boolean;
} {
  const match = /^([a-z]+):\/\/(.+?)\/?$/.exec(target);
  if (!match) return { kind: fallback, address: target, tls: false };
  const [, scheme, address] = match as unknown as [string, string, string];
  switch (scheme) {
    case 'grpc':
      return { kind: 'grpc', address, tls: false };
    case 'grpcs':
      return { kind: 'grpc', address, tls: true };
    case 'http':
      return { kind: 'http', address, tls: false };
    case 'https':
      return { kind: 'http', address, tls: true };
    case 'native':
      return { kind: 'native', address, tls: false };
    case 'natives':
      return { kind: 'native', address, tls: true };
    default:
      throw new Error(
        `unknown transport scheme ${scheme}:// in ${target} (use grpc, grpcs, http, https, native)`,
      );
  }
}

/** A client transport for a target: the one place that maps transport names to classes. */
export function clientTransport(options: TransportOptions): ClientTransport {
  const { kind, address, tls: schemeTls } = parseTarget(options.target, options.transport);
  const tls = options.tls ?? schemeTls;
  const tlsOptions = tls === true ? {} : tls === false ? undefined : tls;
  const common = { target: address, maxMessageBytes: options.maxMessageBytes };
  switch (kind) {
    case 'grpc':
      return new GrpcClientTransport({ ...common, tls: tlsOptions });
    case 'http':
      return new HttpClientTransport({ ...common, tls: tlsOptions, connections: options.httpConnections });
    case 'native':
      return new NativeClientTransport({ ...common, tls: tlsOptions });
  }
}

/** Calls by name: instances come from a registry, governance picks one per call. */
export interface DiscoveryOptions extends Omit<ClusterOptions, 'connect' | 'service' | 'healthCheck'> {
  /** Probe every instance (gRPC health, or GET /healthz over HTTP) and skip failing ones: off unless set. */
  healthCheck?: HealthCheckOptions | true;
  /** The name to resolve; the service's full name ("greet.Greeter") unless set. */
  name?: string;
  /** TLS settings for endpoints that say tls (client certificate, CA). */
  tls?: TlsClientOptions;
  maxMessageBytes?: number;
  /** HTTP endpoints only: keep-alive connections per instance (32 unless set). */
  httpConnections?: number;
}

/** The client transport for one discovered endpoint. */
export function endpointTransport(
  endpoint: Endpoint,
  options: Pick<DiscoveryOptions, 'tls' | 'maxMessageBytes' | 'httpConnections'> = {},
): ClientTransport {
  return clientTransport({
    target: endpointTarget(endpoint),
    tls: endpoint.tls ? (options.tls ?? true) : false,
    maxMessageBytes: options.maxMessageBytes,
    httpConnections: options.httpConnections,
  });
}

function withProbe(
  options: HealthCheckOptions,
  service: string,
): HealthCheckOptions & { probe: HealthProbe } {
  return { ...options, probe: standardHealthProbe(service, options.timeoutMs) };
}

/** A cluster transport: `service` by name through `options.registry`, with governance. */
export function clusterTransport(service: ServiceDescriptor, options: DiscoveryOptions): ClusterTransport {
  const { name, tls, maxMessageBytes, httpConnections, healthCheck, ...cluster } = options;
  const serviceName = name ?? service.fullName;
  return new ClusterTransport({
    ...cluster,
    service: serviceName,
    healthCheck: healthCheck ? withProbe(healthCheck === true ? {} : healthCheck, serviceName) : undefined,
    connect: (endpoint) => endpointTransport(endpoint, { tls, maxMessageBytes, httpConnections }),
  });
}

export type ConnectedClient<S extends ServiceTypes> = Client<S> & {
  /** Closes the connections this client opened. */
  close(): Promise<void>;
};

/**
 * A typed client of `service`: at one `target` with its own connection, or by name through a
 * `registry`, balanced over its live instances.
 */
export function connect<S extends ServiceTypes = UntypedService>(
  service: ServiceDescriptor,
  options: (TransportOptions | DiscoveryOptions) & ClientOptions & { observe?: Observability },
): ConnectedClient<S> {
  const { observe } = options;
  const byName = 'registry' in options;
  const transport = byName
    ? clusterTransport(
        service,
        observe
          ? { ...options, events: combineClusterEvents(options.events, observe.clusterEvents()) }
          : options,
      )
    : clientTransport(options);
  const interceptors = observe
    ? [
        ...observe.clientInterceptors(
          byName ? 'cluster' : parseTarget(options.target, options.transport).kind,
        ),
        ...(options.interceptors ?? []),
      ]
    : options.interceptors;
  const client = createClient<S>(service, transport, { ...options, interceptors }) as ConnectedClient<S>;
  Object.defineProperty(client, 'close', { value: () => transport.close(), enumerable: false });
  return client;
}
