import type { ClusterTransport } from '../cluster/cluster-transport.ts';
import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import type { ClientTransport, OutgoingCall } from '../core/transport.ts';
import type { EndpointTransport } from '../discovery/instance.ts';
import type { Registry } from '../discovery/registry.ts';
import { clientTlsFiles, UsageError } from './command.ts';
import { type Connection, callSettings, type TargetFlags } from './contract-source.ts';
import { namesRegistry, openRegistry, type RegistryFlags, registryFailure } from './registry-flags.ts';

/**
 * Whether a call goes by name through a registry rather than to one --target: when a registry
 * flag is given, or when there is no --target and $SWITCHBOARD_HUB is set.
 */
export function callsByName(flags: TargetFlags & RegistryFlags): boolean {
  if (flags.target !== undefined && namesRegistry(flags)) {
    throw new UsageError(
      '--target and --hub (--consul, --eureka) exclude each other: --target calls one server, --hub calls by name',
    );
  }
  return namesRegistry(flags) || (flags.target === undefined && Boolean(process.env.SWITCHBOARD_HUB));
}

/**
 * A connection to `service` by name: its instances come from the registry, each call goes to
 * one of them (picked at random, retried elsewhere when an instance refuses it unseen). Fails
 * at once when the registry is unreachable or knows no instance, rather than at the deadline.
 */
export async function connectByName(
  flags: TargetFlags & RegistryFlags,
  service: string,
): Promise<Connection> {
  const settings = callSettings(flags);
  // The hub's --tls-* flags serve the instances too: one certificate, one CA, mutual TLS everywhere.
  const tls = await clientTlsFiles(flags);
  const { registry, label } = await openRegistry(flags);
  try {
    const instances = await registry.list(service);
    if (instances.length === 0) {
      throw new StatusError(
        Status.UNAVAILABLE,
        `no instances of ${service} are registered with the ${label}`,
      );
    }
    const [{ ClusterTransport, DEFAULT_TRANSPORT_PREFERENCE }, { endpointTransport }] = await Promise.all([
      import('../cluster/cluster-transport.ts'),
      import('../app/connect.ts'),
    ]);
    const cluster = new ClusterTransport({
      registry,
      service,
      connect: (endpoint) => endpointTransport(endpoint, { tls }),
      transports: preferring(settings.transport, DEFAULT_TRANSPORT_PREFERENCE),
      // One call per process: balancing by latency has nothing to learn from.
      balancer: 'random',
    });
    return {
      transport: new RegistryClusterTransport(cluster, registry),
      metadata: settings.metadata,
      timeoutMs: settings.timeoutMs,
    };
  } catch (err) {
    await registry.close();
    throw registryFailure(err, label);
  }
}

/** --transport puts its endpoints first; instances without one are reached over the others. */
function preferring(
  transport: EndpointTransport | undefined,
  order: readonly EndpointTransport[],
): EndpointTransport[] {
  return transport ? [transport, ...order.filter((t) => t !== transport)] : [...order];
}

/** A cluster transport that also owns its registry: closing it closes both. */
class RegistryClusterTransport implements ClientTransport {
  readonly name = 'cluster';
  readonly #cluster: ClusterTransport;
  readonly #registry: Registry;

  constructor(cluster: ClusterTransport, registry: Registry) {
    this.#cluster = cluster;
    this.#registry = registry;
  }

  unary(call: OutgoingCall, request: unknown): Promise<unknown> {
    return this.#cluster.unary(call, request);
  }

  stream(call: OutgoingCall, requests: unknown): AsyncIterable<unknown> {
    return this.#cluster.stream(call, requests);
  }

  async close(): Promise<void> {
    try {
      await this.#cluster.close();
    } finally {
      await this.#registry.close();
    }
  }
}
