import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { ClientTransport } from '../../core/transport.ts';
import type { Endpoint } from '../../discovery/instance.ts';
import type { InstanceTable } from '../../discovery/instance-table.ts';
import { contractFromDescriptors, ReflectionClient } from '../../services/reflection-client.ts';
import { GrpcClientTransport } from '../../transports/grpc/index.ts';
import { HttpClientTransport } from '../../transports/http/index.ts';
import { NativeClientTransport } from '../../transports/native/index.ts';
import { HubHttpError } from '../http-kit.ts';
import { type HttpBindings, renderProtoFile } from './proto-text.ts';

/** `GET /api/v1/services/<name>/contract`. */
export interface ServiceContract {
  service: string;
  /** The instance that described it. */
  instanceId: string;
  /** The file declaring the service first, then its imports. */
  files: { name: string; text: string }[];
}

export interface ContractFetcherOptions {
  /** Deadline of one instance's reflection exchange. 5 s unless set. */
  timeoutMs?: number;
  /** Instances asked before giving up. 3 unless set. */
  maxAttempts?: number;
  /** Fetches running at once; more get 503. 8 unless set. */
  maxConcurrent?: number;
  /** Contracts remembered per instance (an instance's contract is fixed for its life). 256 unless set. */
  cacheSize?: number;
}

/**
 * Learns a service's contract from one of its registered instances through gRPC server
 * reflection, over the instance's native, gRPC or HTTP endpoint (a Switchboard Server serves
 * reflection on every transport; over HTTP it is an NDJSON stream), and renders it as .proto
 * text. 404 when no instance is registered, 502 when none could describe it.
 */
export class ContractFetcher {
  readonly #registry: InstanceTable;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #maxConcurrent: number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, ServiceContract>();
  #running = 0;

  constructor(registry: InstanceTable, options: ContractFetcherOptions = {}) {
    this.#registry = registry;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#maxConcurrent = options.maxConcurrent ?? 8;
    this.#cacheSize = options.cacheSize ?? 256;
  }

  async fetch(service: string): Promise<ServiceContract> {
    const entries = this.#registry.entries(service);
    if (entries.length === 0) {
      throw new HubHttpError(404, `no instance of ${service} is registered with this hub`);
    }
    // Healthy instances first: they are the likeliest to answer.
    const order = { passing: 0, warning: 1, critical: 2 } as const;
    const candidates = entries
      .map((e) => ({ entry: e, endpoint: reflectionEndpoint(e.instance.endpoints) }))
      .filter((c) => c.endpoint !== undefined)
      .sort((a, b) => order[a.entry.health] - order[b.entry.health]);
    if (candidates.length === 0) {
      throw new HubHttpError(
        502,
        `no instance of ${service} has an endpoint the hub can ask for its contract (grpc, native or http)`,
      );
    }
    for (const c of candidates) {
      const cached = this.#cache.get(`${service}\u0000${c.entry.instance.id}`);
      if (cached) return cached;
    }
    if (this.#running >= this.#maxConcurrent) {
      throw new HubHttpError(503, 'the hub is fetching its limit of contracts at once; try again shortly');
    }
    this.#running++;
    const failures: string[] = [];
    try {
      for (const { entry, endpoint } of candidates.slice(0, this.#maxAttempts)) {
        const id = entry.instance.id;
        try {
          const contract = await this.#ask(service, id, endpoint as Endpoint);
          this.#remember(`${service}\u0000${id}`, contract);
          return contract;
        } catch (err) {
          // UNIMPLEMENTED: a server of another kind (or with reflection turned off) behind the endpoint.
          const unserved = err instanceof StatusError && err.code === Status.UNIMPLEMENTED;
          failures.push(
            `${id}: ${(err as Error).message}${unserved ? `; its ${endpoint?.transport} endpoint does not serve gRPC reflection` : ''}`,
          );
        }
      }
    } finally {
      this.#running--;
    }
    throw new HubHttpError(
      502,
      `could not learn the contract of ${service} by reflection (${failures.join('; ')})`,
    );
  }

  async #ask(service: string, instanceId: string, endpoint: Endpoint): Promise<ServiceContract> {
    const transport = openTransport(endpoint);
    try {
      const files = await new ReflectionClient(transport, { timeoutMs: this.#timeoutMs }).fileDescriptors([
        service,
      ]);
      const declaring = files.find((f) =>
        ((f.service ?? []) as { name?: string }[]).some(
          (s) => (typeof f.package === 'string' && f.package ? `${f.package}.${s.name}` : s.name) === service,
        ),
      );
      const ordered = declaring ? [declaring, ...files.filter((f) => f !== declaring)] : files;
      const http = httpBindings(files, service);
      return {
        service,
        instanceId,
        files: ordered.map((f) => ({ name: String(f.name ?? ''), text: renderProtoFile(f, http) })),
      };
    } finally {
      await transport.close();
    }
  }

  #remember(key: string, contract: ServiceContract): void {
    this.#cache.set(key, contract);
    if (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }
}

/**
 * The service's explicit `google.api.http` bindings, read through a Contract (which restores
 * them from the descriptors' unknown fields); none when the files do not build one.
 */
function httpBindings(files: Parameters<typeof contractFromDescriptors>[0], service: string): HttpBindings {
  const bindings = new Map<string, { method: string; path: string; body: string }[]>();
  try {
    for (const m of contractFromDescriptors(files).service(service).methods) {
      const rules = m.httpRules.filter((r) => !(r.method === 'POST' && r.path === m.path && r.body === '*'));
      if (rules.length > 0)
        bindings.set(
          m.fullName,
          rules.map(({ method, path, body }) => ({ method, path, body })),
        );
    }
  } catch {
    // Descriptors protobufjs cannot build (rare): the text simply shows no HTTP bindings.
  }
  return bindings;
}

/**
 * Reflection is a bidi-streaming method. Native and gRPC carry it best; HTTP carries it too (the
 * reflection client sends its requests before reading, which an HTTP/1.1 exchange allows), so an
 * HTTP-only service is asked there.
 */
function reflectionEndpoint(endpoints: readonly Endpoint[]): Endpoint | undefined {
  for (const transport of ['native', 'grpc', 'http'] as const) {
    const endpoint = endpoints.find((e) => e.transport === transport);
    if (endpoint) return endpoint;
  }
  return undefined;
}

function openTransport(endpoint: Endpoint): ClientTransport {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  const target = `${host}:${endpoint.port}`;
  const connectTimeoutMs = 3000;
  switch (endpoint.transport) {
    case 'native':
      return new NativeClientTransport({ target, connectTimeoutMs, ...(endpoint.tls ? { tls: {} } : {}) });
    case 'http':
      // One connection: the exchanges of one fetch run one after another.
      return new HttpClientTransport({ target, connections: 1, ...(endpoint.tls ? { tls: {} } : {}) });
    default:
      return new GrpcClientTransport({ target, connectTimeoutMs, ...(endpoint.tls ? { tls: true } : {}) });
  }
}
