import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { ServiceDescriptor } from '../contract/descriptors.ts';
import type { ListenAddress } from '../core/transport.ts';
import type { Endpoint, ServiceInstance } from '../discovery/instance.ts';
import type { Lease, Registry } from '../discovery/registry.ts';
import type { TransportKind } from './connect.ts';

export interface RegistrationOptions {
  registry: Registry;
  /** The address other machines reach this one at; from the listen address, else this host's first external IPv4. */
  advertiseHost?: string;
  version?: string;
  zone?: string;
  metadata?: Record<string, string>;
  /** Lease time; heartbeats every third of it. 10 s unless set. */
  ttlMs?: number;
  /** The services to register; every served service but health and reflection unless set. */
  services?: readonly string[];
}

/** Services every Server hosts for tooling; they are not what callers resolve by name. */
const INFRASTRUCTURE = /^grpc\.(health|reflection)\./;

/** The instances a server announces: one per service, each with one endpoint per transport. */
export function instancesFor(
  served: readonly ServiceDescriptor[],
  addresses: Partial<Record<TransportKind, ListenAddress & { tls?: boolean }>>,
  options: Omit<RegistrationOptions, 'registry'>,
): ServiceInstance[] {
  const endpoints: Endpoint[] = [];
  for (const transport of ['native', 'grpc', 'http'] as const) {
    const address = addresses[transport];
    if (!address) continue;
    endpoints.push({
      transport,
      host: advertisedHost(address.host, options.advertiseHost),
      port: address.port,
      ...(address.tls ? { tls: true } : {}),
    });
  }
  const names = options.services ?? served.map((s) => s.fullName).filter((n) => !INFRASTRUCTURE.test(n));
  const processId = `${os
    .hostname()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 40)}-${process.pid}-${randomUUID().slice(0, 8)}`;
  return names.map((service) => ({
    service,
    id: processId,
    endpoints,
    ...(options.version ? { version: options.version } : {}),
    ...(options.zone ? { zone: options.zone } : {}),
    metadata: options.metadata ?? {},
  }));
}

/**
 * The host others dial for a listen address: `advertiseHost` when set; for a wildcard address
 * (not one others can dial) this host's first external IPv4.
 */
export function advertisedHost(host: string, advertiseHost?: string): string {
  if (advertiseHost !== undefined) return advertiseHost;
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const entry of list ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return '127.0.0.1';
}

/** Registers every instance; if one registration fails, the others are withdrawn again. */
export async function registerAll(
  registry: Registry,
  instances: readonly ServiceInstance[],
  ttlMs?: number,
): Promise<Lease[]> {
  const results = await Promise.allSettled(instances.map((i) => registry.register(i, { ttlMs })));
  const leases = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(leases.map((l) => l.deregister()));
    throw failed.reason;
  }
  return leases;
}
