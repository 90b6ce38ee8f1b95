import type { ClientTransport } from '../core/transport.ts';
import type { Endpoint, EndpointTransport, ServiceInstance } from '../discovery/instance.ts';

/** Opens a client transport to one endpoint; app/ maps the endpoint's transport to a class. */
export type EndpointConnector = (endpoint: Endpoint) => ClientTransport;

/** One instance as the balancer sees it: its key (the instance id) and the connection to it. */
export interface Member {
  readonly key: string;
  /** Updated in place when the registry reports new metadata for the same endpoint. */
  zone?: string;
  instance: ServiceInstance;
  readonly endpoint: Endpoint;
  readonly transport: ClientTransport;
  /** Calls in flight through this member, so a departed member closes only when idle. */
  active: number;
  /** Its instance left: close the transport once `active` is 0. */
  retired: boolean;
}

/**
 * The connections of a cluster: one client transport per instance, on the endpoint whose
 * transport comes first in the preference order. Members of instances that left are closed
 * once their calls in flight are done.
 */
export class EndpointPool {
  readonly #connect: EndpointConnector;
  readonly #preference: readonly EndpointTransport[];
  #members = new Map<string, Member>();
  /** The members as a list, made once per update: read on every call. */
  #list: readonly Member[] = [];
  readonly #leaving = new Set<Member>();

  constructor(connect: EndpointConnector, preference: readonly EndpointTransport[]) {
    this.#connect = connect;
    this.#preference = preference;
  }

  get members(): readonly Member[] {
    return this.#list;
  }

  /** Makes the members match `instances`; returns the keys now present. */
  update(instances: readonly ServiceInstance[]): ReadonlySet<string> {
    const next = new Map<string, Member>();
    for (const instance of instances) {
      const endpoint = this.#choose(instance);
      if (!endpoint) continue;
      const key = instance.id;
      const current = this.#members.get(key);
      if (current && sameEndpoint(current.endpoint, endpoint)) {
        // The same member object: calls in flight release it, so its count must stay one.
        current.instance = instance;
        current.zone = instance.zone;
        next.set(key, current);
        continue;
      }
      next.set(key, {
        key,
        zone: instance.zone,
        instance,
        endpoint,
        transport: this.#connect(endpoint),
        active: 0,
        retired: false,
      });
    }
    for (const [key, member] of this.#members) {
      if (next.get(key)?.transport !== member.transport) this.#retire(member);
    }
    this.#members = next;
    this.#list = [...next.values()];
    return new Set(next.keys());
  }

  /** A call through `member` ended: a retired member closes when its last call is done. */
  release(member: Member): void {
    member.active--;
    if (member.retired && member.active === 0 && this.#leaving.delete(member)) void member.transport.close();
  }

  async close(): Promise<void> {
    const all = [...this.#members.values(), ...this.#leaving];
    this.#members.clear();
    this.#list = [];
    this.#leaving.clear();
    await Promise.all(all.map((m) => m.transport.close()));
  }

  #retire(member: Member): void {
    member.retired = true;
    if (member.active === 0) void member.transport.close();
    else this.#leaving.add(member);
  }

  #choose(instance: ServiceInstance): Endpoint | undefined {
    for (const transport of this.#preference) {
      const endpoint = instance.endpoints.find((e) => e.transport === transport);
      if (endpoint) return endpoint;
    }
    return undefined;
  }
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.transport === b.transport && a.host === b.host && a.port === b.port && a.tls === b.tls;
}
