import path from 'node:path';
import { type Contract, loadContractSync } from '../contract/contract.ts';
import { StatusError } from '../contract/errors.ts';
import { BUNDLED_PROTO_DIR } from '../contract/paths.ts';
import { Status } from '../contract/status.ts';
import type { CallContext } from '../core/context.ts';
import type { ServiceHost } from '../core/host.ts';
import type { Message, ServerStreamingMethod, UnaryMethod } from '../core/types.ts';

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by name. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

const STATUS_CODES: Record<ServingStatus, number> = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
};

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

let contract: Contract | undefined;

/** The bundled grpc/health/v1/health.proto, loaded once. */
export function healthContract(): Contract {
  contract ??= loadContractSync(path.join(BUNDLED_PROTO_DIR, 'grpc/health/v1/health.proto'));
  return contract;
}

/** grpc.health.v1.Health's methods, for typing clients and the implementation. */
export type HealthMethods = {
  check: UnaryMethod<Message, Message>;
  list: UnaryMethod<Message, Message>;
  watch: ServerStreamingMethod<Message, Message>;
};

interface Watcher {
  readonly service: string;
  /** The last status sent, so that only changes are sent. */
  last: ServingStatus | undefined;
  wake(): void;
}

/**
 * The standard gRPC health service (grpc.health.v1.Health): Check, List and Watch, served
 * like any other service on every transport. "" is the health of the whole server.
 *
 * A service the host serves that has no status of its own follows the server's ("" ), so a
 * probe of any served service works without configuration; `setStatus` overrides it.
 */
export class HealthService {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Set<Watcher>();
  #host: ServiceHost | undefined;
  #shutDown = false;

  constructor(initial: Record<string, ServingStatus> = { '': 'SERVING' }) {
    for (const [service, status] of Object.entries(initial)) this.#statuses.set(service, status);
  }

  setStatus(service: string, status: ServingStatus): void {
    if (!(status in STATUS_CODES)) throw new TypeError(`unknown serving status ${status}`);
    if (this.#shutDown) return;
    this.#statuses.set(service, status);
    this.#notify();
  }

  /** Forgets a service's own status: it follows the server's again if served, else is unknown. */
  clearStatus(service: string): void {
    if (this.#shutDown) return;
    this.#statuses.delete(service);
    this.#notify();
  }

  /** The status Check answers for `service`; undefined when it is unknown (NOT_FOUND). */
  status(service: string): ServingStatus | undefined {
    if (this.#shutDown && this.#known(service)) return 'NOT_SERVING';
    const own = this.#statuses.get(service);
    if (own) return own;
    if (this.#host?.services.some((s) => s.fullName === service)) return this.#statuses.get('') ?? 'SERVING';
    return undefined;
  }

  /** Every service with a status, "" included, as List answers. */
  statuses(): Record<string, ServingStatus> {
    const out: Record<string, ServingStatus> = {};
    const names = new Set([...this.#statuses.keys(), ...(this.#host?.services.map((s) => s.fullName) ?? [])]);
    for (const name of names) {
      const status = this.status(name);
      if (status) out[name] = status;
    }
    return out;
  }

  /**
   * Reports every service NOT_SERVING and ignores updates until `resume()`: for draining a
   * server before it stops, so that load balancers move traffic away first.
   */
  shutdown(): void {
    this.#shutDown = true;
    this.#notify();
  }

  resume(): void {
    this.#shutDown = false;
    this.#notify();
  }

  /** Serves grpc.health.v1.Health on `host`. */
  addTo(host: ServiceHost): this {
    this.#host = host;
    host.add<HealthMethods>(healthContract().service(HEALTH_SERVICE_NAME), {
      check: (req: Message) => this.#check(req),
      list: () => this.#list(),
      watch: (req: Message, ctx: CallContext) => this.#watch(req, ctx),
    });
    return this;
  }

  #known(service: string): boolean {
    return this.#statuses.has(service) || Boolean(this.#host?.services.some((s) => s.fullName === service));
  }

  #check(req: Message): Message {
    const service = String(req.service ?? '');
    const status = this.status(service);
    if (!status) throw new StatusError(Status.NOT_FOUND, `unknown service ${JSON.stringify(service)}`);
    return { status: STATUS_CODES[status] };
  }

  #list(): Message {
    const statuses: Record<string, Message> = {};
    for (const [name, status] of Object.entries(this.statuses()))
      statuses[name] = { status: STATUS_CODES[status] };
    return { statuses };
  }

  /** The current status at once (SERVICE_UNKNOWN for an unknown service), then each change. */
  async *#watch(req: Message, ctx: CallContext): AsyncIterable<Message> {
    let pending = false;
    let wakeUp: (() => void) | undefined;
    const watcher: Watcher = {
      service: String(req.service ?? ''),
      last: undefined,
      wake: () => {
        pending = true;
        wakeUp?.();
      },
    };
    const onAbort = () => wakeUp?.();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    this.#watchers.add(watcher);
    try {
      pending = true;
      while (!ctx.signal.aborted) {
        if (!pending) {
          await new Promise<void>((resolve) => {
            wakeUp = resolve;
          });
          wakeUp = undefined;
          continue;
        }
        pending = false;
        const status = this.status(watcher.service) ?? 'SERVICE_UNKNOWN';
        if (status === watcher.last) continue;
        watcher.last = status;
        yield { status: STATUS_CODES[status] };
      }
    } finally {
      this.#watchers.delete(watcher);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  #notify(): void {
    for (const watcher of this.#watchers) watcher.wake();
  }
}
