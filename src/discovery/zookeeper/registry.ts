import { checkReservedMetadata } from '../address-mapping.ts';
import { type ServiceInstance, validateInstance } from '../instance.ts';
import {
  DEFAULT_LEASE_TTL_MS,
  type Lease,
  type RegisterOptions,
  type Registry,
  RegistryError,
  type Watch,
} from '../registry.ts';
import { RegistryHoldings } from '../registry-holdings.ts';
import {
  CURATOR_CONVENTIONS,
  fromCuratorJson,
  SPRING_PAYLOAD_CLASS,
  toCuratorJson,
} from './curator-instance.ts';
import { ZooKeeperLease } from './lease.ts';
import { ZK, ZkSession, zkCode } from './session.ts';
import { ZooKeeperWatch } from './watch.ts';

export interface ZooKeeperRegistryOptions {
  /** "host:port[,host:port…][/chroot]". Default "127.0.0.1:2181". */
  connect?: string;
  /** Parent of the service nodes. Default "/services", Spring Cloud Zookeeper's root. */
  basePath?: string;
  /** The "@class" of the payload we write (see docs/discovery.md). Default Spring Cloud's ZookeeperInstance. */
  payloadClass?: string;
  /** Session timeout of the session that reads and watches. Default 15 s. */
  sessionTimeoutMs?: number;
  /** How long one request may wait, connecting or disconnected, before it fails. Default 10 s. */
  requestTimeoutMs?: number;
}

/**
 * Service discovery on ZooKeeper in Apache Curator's layout: `<basePath>/<service>/<id>`, an
 * ephemeral node holding Curator's instance JSON. One session reads and watches; every lease
 * has a session of its own whose timeout is the lease ttl (see ZooKeeperLease).
 */
export class ZooKeeperRegistry implements Registry {
  readonly kind = 'zookeeper';
  readonly #connect: string;
  readonly #basePath: string;
  readonly #payloadClass: string;
  readonly #requestTimeoutMs: number;
  readonly #session: ZkSession;
  readonly #held = new RegistryHoldings('the ZooKeeper registry is closed');

  constructor(options: ZooKeeperRegistryOptions = {}) {
    this.#connect = options.connect ?? '127.0.0.1:2181';
    const base = options.basePath ?? '/services';
    if (!/^(\/[^/]+)+$/.test(base)) {
      throw new TypeError(`basePath ${JSON.stringify(base)}: expected an absolute path like "/services"`);
    }
    this.#basePath = base;
    this.#payloadClass = options.payloadClass ?? SPRING_PAYLOAD_CLASS;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#session = new ZkSession({
      connect: this.#connect,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 15_000,
      requestTimeoutMs: this.#requestTimeoutMs,
    });
  }

  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<Lease> {
    const valid = validateInstance(instance);
    checkReservedMetadata(valid, CURATOR_CONVENTIONS);
    if (!nodeName(valid.service)) {
      throw new TypeError(
        `service: ${JSON.stringify(valid.service)} cannot be a ZooKeeper node name (no "/")`,
      );
    }
    if (!nodeName(valid.id))
      throw new TypeError(`id: ${JSON.stringify(valid.id)} cannot be a ZooKeeper node name`);
    this.#held.assertOpen();
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const session = new ZkSession({
      connect: this.#connect,
      sessionTimeoutMs: ttlMs,
      requestTimeoutMs: this.#requestTimeoutMs,
    });
    const data = Buffer.from(JSON.stringify(toCuratorJson(valid, Date.now(), this.#payloadClass)));
    const lease = new ZooKeeperLease(valid, session, this.#instancePath(valid.service, valid.id), data, () =>
      this.#held.release(lease),
    );
    try {
      await session.ready();
      await lease.start();
    } catch (err) {
      if (session.connected) await lease.deregister();
      else lease.abandon(); // nothing was stored, or the session's timeout removes it
      throw new RegistryError(`ZooKeeper refused the registration of ${valid.service}/${valid.id}`, {
        cause: err,
      });
    }
    return this.#held.hold(lease);
  }

  /** The instances as stored now; nodes that are not Curator instances are skipped. */
  async list(service: string): Promise<ServiceInstance[]> {
    this.#held.assertOpen();
    if (!nodeName(service)) return [];
    const path = this.#servicePath(service);
    let children: string[];
    try {
      [children] = await this.#session.getChildren(path);
    } catch (err) {
      if (zkCode(err) === ZK.NO_NODE) return [];
      throw err;
    }
    const instances = await Promise.all(
      children.sort().map(async (id) => {
        try {
          const [data] = await this.#session.getData(`${path}/${id}`);
          return fromCuratorJson(service, id, data);
        } catch (err) {
          if (zkCode(err) === ZK.NO_NODE || err instanceof TypeError) return undefined;
          throw err;
        }
      }),
    );
    return instances.filter((i): i is ServiceInstance => i !== undefined);
  }

  async services(): Promise<string[]> {
    this.#held.assertOpen();
    let names: string[];
    try {
      [names] = await this.#session.getChildren(this.#basePath);
    } catch (err) {
      if (zkCode(err) === ZK.NO_NODE) return [];
      throw err;
    }
    // Service nodes outlive their instances (they are persistent): keep those with children.
    const counted = await Promise.all(
      names.map(
        async (name) => ((await this.#session.exists(this.#servicePath(name)))?.numChildren ?? 0) > 0,
      ),
    );
    return names.filter((_, i) => counted[i]).sort();
  }

  watch(
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError: (err: Error) => void = () => {},
  ): Watch {
    this.#held.assertOpen();
    if (!nodeName(service)) {
      let closed = false;
      queueMicrotask(() => {
        if (!closed) onChange([]);
      });
      return { close: () => (closed = true) };
    }
    const watch = new ZooKeeperWatch(this.#session, service, this.#servicePath(service), onChange, onError);
    return this.#held.watch(watch);
  }

  async close(): Promise<void> {
    if (this.#held.closed) return;
    const [failed] = await this.#held.close();
    await this.#session.close();
    if (failed) throw failed;
  }

  #servicePath(service: string): string {
    return `${this.#basePath}/${service}`;
  }

  #instancePath(service: string, id: string): string {
    return `${this.#basePath}/${service}/${id}`;
  }
}

/** A name ZooKeeper accepts as one path segment. */
function nodeName(name: string): boolean {
  return !name.includes('/') && name !== '.' && name !== '..';
}
