import { connect, type TransportKind } from '../src/app/connect.ts';
import { ClusterTransport } from '../src/cluster/cluster-transport.ts';
import type { ServiceDescriptor } from '../src/contract/descriptors.ts';
import { createClient } from '../src/core/client.ts';
import type { ClientTransport } from '../src/core/transport.ts';
import type { Client, UnaryMethod } from '../src/core/types.ts';
import { endpointTarget } from '../src/discovery/instance.ts';
import type { Registry } from '../src/discovery/registry.ts';
import { HttpClientTransport } from '../src/transports/http/index.ts';

/**
 * The two clients of one server that the governance part compares on one transport: direct, at
 * the server's address, and by name through a ClusterTransport that may use only that transport.
 */

export type GreeterService = { sayHello: UnaryMethod<{ name: string }, { message: string }> };

export interface GovernanceClients {
  direct: Client<GreeterService>;
  cluster: Client<GreeterService>;
  close(): Promise<void>;
}

export interface GovernanceClientOptions {
  service: ServiceDescriptor;
  /** Holds one instance with an endpoint on `transport`. */
  registry: Registry;
  transport: TransportKind;
  host: string;
  port: number;
  /** Keep-alive connections of each HTTP client's pool. */
  httpConnections: number;
}

/**
 * Native and gRPC: `connect({ target })` and `connect({ registry })`, as an application calls.
 * HTTP: connect() passes no pool size to the transports it opens (clientTransport() and
 * endpointTransport() in src/app/connect.ts take only tls and maxMessageBytes), so through it
 * both sides would queue 64 calls on 32 connections. Both HTTP clients are therefore built from
 * the same public parts connect() uses, each with `httpConnections` connections: createClient
 * over an HttpClientTransport, and a ClusterTransport with connect()'s defaults whose endpoint
 * connector opens that same HttpClientTransport.
 */
export function governanceClients(options: GovernanceClientOptions): GovernanceClients {
  const { service, registry, transport, host, port } = options;
  const target = `${transport}://${host}:${port}`;
  if (transport !== 'http') {
    const direct = connect<GreeterService>(service, { target });
    const cluster = connect<GreeterService>(service, { registry, transports: [transport] });
    return { direct, cluster, close: () => Promise.all([direct.close(), cluster.close()]).then(() => {}) };
  }
  const http = (at: string) => new HttpClientTransport({ target: at, connections: options.httpConnections });
  const transports: ClientTransport[] = [
    http(target),
    new ClusterTransport({
      registry,
      service: service.fullName,
      transports: ['http'],
      connect: (endpoint) => http(endpointTarget(endpoint)),
    }),
  ];
  return {
    direct: createClient<GreeterService>(service, transports[0]!),
    cluster: createClient<GreeterService>(service, transports[1]!),
    close: () => Promise.all(transports.map((t) => t.close())).then(() => {}),
  };
}
