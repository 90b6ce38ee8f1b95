import type { ServiceInstance } from './instance.ts';

/**
 * A service registry: instances register with a lease that heartbeats keep alive, and
 * callers list or watch the live instances of a service by name. Every backend (hub,
 * ZooKeeper, etcd, Consul, Eureka, static) implements this and passes
 * test/conformance/registry-suite.ts against its real server.
 */
export interface Registry {
  /** "hub", "zookeeper", "etcd", "consul", "eureka", "static". */
  readonly kind: string;
  /**
   * Registers `instance` and keeps it registered (heartbeats, keepalives, session pings) until
   * the lease is deregistered or the registry closed. If the server forgets the instance (its
   * lease expired while the network was down), the lease registers it again.
   * Rejects with a TypeError for a malformed instance, with RegistryError when the server refuses.
   */
  register(instance: ServiceInstance, options?: RegisterOptions): Promise<Lease>;
  /** The live (healthy, unexpired) instances of `service`; [] for an unknown service. */
  list(service: string): Promise<ServiceInstance[]>;
  /** Names of the services with at least one live instance. */
  services(): Promise<string[]>;
  /**
   * Pushes the full list of live instances of `service` now and after every change, until
   * closed. Connection trouble goes to `onError`; the watch reconnects by itself and pushes
   * the current list again once it is back.
   */
  watch(
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError?: (err: Error) => void,
  ): Watch;
  /** Stops heartbeats and watches. Leases still held are deregistered first. */
  close(): Promise<void>;
}

export interface RegisterOptions {
  /** How long the instance outlives its last heartbeat. Default 10 s; heartbeats every ttl/3. */
  ttlMs?: number;
}

export const DEFAULT_LEASE_TTL_MS = 10_000;

export interface Lease {
  readonly instance: ServiceInstance;
  /** Removes the instance now and stops its heartbeats. Idempotent. */
  deregister(): Promise<void>;
  /**
   * Stops heartbeats without deregistering, as a crash would: the registry drops the instance
   * when the lease expires. For tests and for handing an instance over. A later
   * `deregister()` does nothing.
   */
  abandon(): void;
}

export interface Watch {
  close(): void;
}

/** The registry server refused or failed a request; `status` is its HTTP status when there is one. */
export class RegistryError extends Error {
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.status = options.status;
  }
}
