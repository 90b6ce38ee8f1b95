import type { ServiceDescriptor } from '../contract/descriptors.ts';
import { ServiceHost, type ServiceHostOptions } from '../core/host.ts';
import type { ListenAddress, ServerTransport } from '../core/transport.ts';
import type { Implementation, ServiceTypes, UntypedService } from '../core/types.ts';
import type { Lease } from '../discovery/registry.ts';
import { METRICS_PATH, type MetricsListener, serveMetrics } from '../observe/metrics/endpoint.ts';
import { HealthService } from '../services/health.ts';
import { ReflectionService } from '../services/reflection.ts';
import { GrpcServer, type GrpcServerOptions } from '../transports/grpc/index.ts';
import { type HttpEndpoint, HttpServer, type HttpServerOptions } from '../transports/http/index.ts';
import { NativeServer, type NativeServerOptions } from '../transports/native/index.ts';
import type { ServerTlsOptions } from '../transports/tls/server-tls.ts';
import { type AccessPolicyOptions, accessPolicy } from './access-policy.ts';
import { type ApiDocumentsOptions, apiDocumentEndpoints } from './api-documents.ts';
import type { TransportKind } from './connect.ts';
import { DEFAULT_MAX_CONCURRENT_CALLS, limitsInterceptor, type ServerLimits } from './limits.ts';
import type { Observability } from './observability.ts';
import { advertisedHost, instancesFor, type RegistrationOptions, registerAll } from './registration.ts';

export interface ServerOptions extends ServiceHostOptions {
  /**
   * TLS for every transport that sets no `tls` of its own: certificate and key (files are
   * watched and rotated), and with a CA, mutual TLS (docs/security.md).
   */
  tls?: ServerTlsOptions;
  /** Serve gRPC (HTTP/2) with these options; omitted or false: not served. */
  grpc?: GrpcServerOptions | false;
  /** Serve HTTP/REST (JSON) with these options. */
  http?: HttpServerOptions | false;
  /** Serve the native TCP protocol with these options. */
  native?: NativeServerOptions | false;
  /** Serve grpc.health.v1.Health (on every transport). On unless false. */
  health?: boolean;
  /** Serve gRPC server reflection, v1 and v1alpha. On unless false. */
  reflection?: boolean;
  /**
   * Load shedding: calls over these limits get RESOURCE_EXHAUSTED (HTTP 429), unprocessed.
   * Unless set otherwise, at most 10 000 calls run at once (DEFAULT_MAX_CONCURRENT_CALLS), on
   * all transports together: a call counts until its handler returns, so handlers that ignore
   * their cancel signal stay bounded too. false: no limit.
   */
  limits?: ServerLimits | false;
  /** `/openapi.json` and `/asyncapi.json` on the HTTP transport (docs/api-documents.md). On unless false. */
  apiDocuments?: ApiDocumentsOptions | false;
  /**
   * Spans and metrics for every call on every transport, and `/metrics` on the HTTP transport
   * (docs/observability.md) — without one, on a listener of its own at `observe.metricsPort`.
   * Its interceptors run first, so calls shed by `limits` count too.
   */
  observe?: Observability;
  /**
   * Which callers (mTLS identities, or tokens) may call which methods, on every transport
   * (docs/security.md#access-control). Checked after `observe` (refusals are traced and
   * counted) and before `limits` (refused calls take no capacity). Everyone may call anything
   * unless set.
   */
  access?: AccessPolicyOptions;
}

/** Where each transport listens once `listen()` has resolved. */
export type ServerAddresses = Partial<Record<TransportKind, ListenAddress>>;

/**
 * One service host served on every configured transport, one port per protocol. A handler
 * is written once; which transport carried a call is visible only as `ctx.transport`.
 */
export class Server {
  readonly host: ServiceHost;
  /** The health the server reports; `setStatus` per service, `shutdown()` while draining. */
  readonly health: HealthService;
  readonly #options: ServerOptions;
  readonly #transports: ServerTransport[] = [];
  #addresses: ServerAddresses = {};
  #metricsListener: MetricsListener | undefined;
  #leases: Lease[] = [];
  #deregisterDelayMs = 0;

  constructor(options: ServerOptions = {}) {
    this.#options = options;
    const interceptors = [
      ...(options.observe?.serverInterceptors() ?? []),
      ...(options.access ? [accessPolicy(options.access)] : []),
      ...(options.limits === false
        ? []
        : [
            limitsInterceptor({
              ...options.limits,
              maxConcurrentCalls: options.limits?.maxConcurrentCalls ?? DEFAULT_MAX_CONCURRENT_CALLS,
            }),
          ]),
      ...(options.interceptors ?? []),
    ];
    this.host = new ServiceHost({ ...options, interceptors });
    this.health = new HealthService();
    if (options.health !== false) this.health.addTo(this.host);
    if (options.reflection !== false) new ReflectionService().addTo(this.host);
  }

  add<S extends ServiceTypes = UntypedService>(
    service: ServiceDescriptor,
    implementation: Implementation<NoInfer<S>>,
  ): this {
    this.host.add(service, implementation);
    return this;
  }

  get addresses(): ServerAddresses {
    return this.#addresses;
  }

  /**
   * Where this server's metrics are scraped once listening: `/metrics` on the HTTP transport,
   * else the listener `observe.metricsPort` asked for; undefined without metrics.
   */
  get metricsUrl(): string | undefined {
    const address = this.#metricsAddress();
    return address && metricsUrl(address.host, address.port, address.tls);
  }

  /** The registrations `register()` holds until `close()`. */
  get leases(): readonly Lease[] {
    return this.#leases;
  }

  /** Starts every configured transport; if one fails to listen, the others are closed again. */
  async listen(): Promise<ServerAddresses> {
    const { grpc, http, native } = this.#transportOptions();
    const planned: [TransportKind, ServerTransport][] = [];
    if (grpc) planned.push(['grpc', new GrpcServer(this.host, grpc)]);
    if (http)
      planned.push(['http', new HttpServer(this.host, { ...http, endpoints: this.#endpoints(http) })]);
    if (native) planned.push(['native', new NativeServer(this.host, native)]);
    if (planned.length === 0) throw new Error('no transport configured: set grpc, http or native');
    const addresses: ServerAddresses = {};
    try {
      for (const [kind, transport] of planned) {
        addresses[kind] = await transport.listen();
        this.#transports.push(transport);
      }
      // Every service can be scraped: one without an HTTP port gets a listener for metrics alone.
      const { metrics, metricsPort } = this.#options.observe ?? {};
      if (metrics && metricsPort !== false && metricsPort !== undefined && !http) {
        const host = Object.values(addresses)[0]?.host ?? '127.0.0.1';
        this.#metricsListener = await serveMetrics(metrics, { host, port: metricsPort });
      }
    } catch (err) {
      await this.close(0);
      throw err;
    }
    this.#addresses = addresses;
    return addresses;
  }

  /** Each transport's options, with the server's `tls` where the transport sets none. */
  #transportOptions(): Pick<ServerOptions, TransportKind> {
    const { grpc, http, native, tls } = this.#options;
    if (!tls) return { grpc, http, native };
    return {
      grpc: grpc && { ...grpc, tls: grpc.tls ?? tls },
      http: http && { ...http, tls: http.tls ?? tls },
      native: native && { ...native, tls: native.tls ?? tls },
    };
  }

  #metricsAddress(): (ListenAddress & { tls: boolean }) | undefined {
    const { http } = this.#transportOptions();
    const address = this.#addresses.http;
    if (http && address && this.#options.observe?.metrics) return { ...address, tls: http.tls !== undefined };
    const listener = this.#metricsListener;
    return listener && { host: listener.host, port: listener.port, tls: false };
  }

  /** The plain GET endpoints beside the methods; the user's own (`http.endpoints`) win. */
  #endpoints(http: HttpServerOptions): Record<string, HttpEndpoint> {
    const endpoints: Record<string, HttpEndpoint> = { ...this.#options.observe?.endpoints() };
    const documents = this.#options.apiDocuments;
    if (documents !== false) Object.assign(endpoints, apiDocumentEndpoints(this.host, documents));
    return Object.assign(endpoints, http.endpoints);
  }

  /**
   * Announces this server in a registry: one instance per served service (health and
   * reflection aside), with an endpoint per transport. Call after `listen()`, once the
   * server is ready for traffic; `close()` deregisters before it stops serving.
   */
  async register(options: RegistrationOptions & { deregisterDelayMs?: number }): Promise<void> {
    if (this.#transports.length === 0)
      throw new Error('register() needs a listening server: call listen() first');
    // Only a server ready for traffic joins: callers would be sent to it at once.
    const health = this.health.status('');
    if (health !== undefined && health !== 'SERVING') {
      throw new Error(`register() needs a healthy server: its health is ${health}`);
    }
    const { grpc, http, native } = this.#transportOptions();
    const tls = {
      grpc: grpc ? grpc.tls !== undefined : false,
      http: http ? http.tls !== undefined : false,
      native: native ? native.tls !== undefined : false,
    };
    const addresses = Object.fromEntries(
      Object.entries(this.#addresses).map(([kind, address]) => [
        kind,
        { ...address, tls: tls[kind as TransportKind] },
      ]),
    );
    const metrics = this.#metricsAddress();
    const metadata = metrics
      ? {
          metrics: metricsUrl(advertisedHost(metrics.host, options.advertiseHost), metrics.port, metrics.tls),
          ...options.metadata,
        }
      : options.metadata;
    const instances = instancesFor(this.host.services, addresses, { ...options, metadata });
    this.#leases.push(...(await registerAll(options.registry, instances, options.ttlMs)));
    this.#deregisterDelayMs = options.deregisterDelayMs ?? 500;
  }

  /**
   * The lifecycle of a service process: on the first SIGTERM or SIGINT, `close(graceMs)`
   * (deregister, drain), then `after` (close registries, flush logs), then exit 0. A second
   * signal while draining exits 1 at once.
   */
  closeOnSignals(
    options: { graceMs?: number; after?: () => unknown; signals?: NodeJS.Signals[] } = {},
  ): void {
    let stopping = false;
    const stop = async () => {
      if (stopping) process.exit(1);
      stopping = true;
      try {
        await this.close(options.graceMs ?? 5000);
        await options.after?.();
      } finally {
        process.exit(0);
      }
    };
    for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, () => void stop());
  }

  /**
   * Graceful stop: deregisters (then keeps serving for `deregisterDelayMs`, so clients hear of
   * it before they are refused), reports NOT_SERVING, stops accepting calls on every transport
   * and lets in-flight calls finish within `graceMs`.
   */
  async close(graceMs = 5000): Promise<void> {
    const leases = this.#leases.splice(0);
    if (leases.length > 0) {
      await Promise.allSettled(leases.map((l) => l.deregister()));
      if (this.#deregisterDelayMs > 0)
        await new Promise((resolve) => setTimeout(resolve, this.#deregisterDelayMs));
    }
    this.health.shutdown();
    const transports = this.#transports.splice(0);
    const listener = this.#metricsListener;
    this.#metricsListener = undefined;
    await Promise.all([...transports.map((t) => t.close(graceMs)), listener?.close()]);
  }
}

function metricsUrl(host: string, port: number, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${METRICS_PATH}`;
}
