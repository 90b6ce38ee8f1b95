/**
 * What every shop service does around its own logic: find the hub (SWITCHBOARD_HUB), join
 * its registry and broker, serve on free ports and register, call others by name, and on
 * SIGTERM/SIGINT stop in order — deregister and drain calls, stop consuming, close clients,
 * the broker and the registry — then exit 0. Every call, publish and delivery is traced (spans
 * go to the hub) and counted (each process serves /metrics).
 */
import {
  type ConnectedClient,
  connect,
  EventBus,
  HubBroker,
  HubRegistry,
  type Implementation,
  type MetricsListener,
  Observability,
  Server,
  type ServiceDescriptor,
  type ServiceTypes,
  serveMetrics,
  type TransportKind,
} from '../../../src/index.ts';
import type { Broker } from '../../../src/messaging/broker.ts';
import { loadShop, type ShopContract } from './contract.ts';
import { type Log, logger } from './log.ts';

export interface ShopService {
  readonly name: string;
  readonly log: Log;
  readonly hubUrl: string;
  readonly registry: HubRegistry;
  /** The hub's broker, traced and metered: commands and events sent through it are in the trace. */
  readonly broker: Broker;
  /** Typed events of the shop's contract, published with source /shop/<name>. */
  readonly events: EventBus;
  /** Spans to the hub's /v1/traces, Prometheus metrics; every client, server and the broker use it. */
  readonly observe: Observability;
  /**
   * Where this process's metrics are scraped: the HTTP port's /metrics, or a listener of their
   * own (a free port) for services without one; known once serving (or ready).
   */
  readonly metricsUrl: string | undefined;
  readonly shop: ShopContract;
  /** Aborted when the service starts stopping: loops and timers end on it. */
  readonly stopping: AbortSignal;
  /** A client of `service` by name through the hub, over `transport`; closed on stop. */
  connect<S extends ServiceTypes>(service: ServiceDescriptor, transport: TransportKind): ConnectedClient<S>;
  /**
   * Serves `service` on `transports` (kind → port, 0 for a free one), then registers it with
   * the hub. Call once, when the service is ready for traffic.
   */
  serve<S extends ServiceTypes>(
    service: ServiceDescriptor,
    implementation: Implementation<S>,
    transports: Partial<Record<TransportKind, number>>,
  ): Promise<Server>;
  /** Runs `close` on stop, after the server drained; later additions run first. */
  onStop(close: () => unknown): void;
  /**
   * Start-up is over: logs "ready: <what>" (tests wait for it) and tells `switchboard dev` over
   * its IPC channel, which matters for services that register nothing. A service that serves
   * nothing starts its metrics listener here.
   */
  ready(what: string): Promise<void>;
}

/** Stopping longer than this is a bug worth seeing: exit 1 instead of hanging. */
const STOP_LIMIT_MS = 5_000;

export async function startService(fallbackName: string): Promise<ShopService> {
  const name = process.env.SWITCHBOARD_SERVICE_NAME ?? fallbackName;
  const log = logger(name);
  const hubUrl = process.env.SWITCHBOARD_HUB ?? 'http://127.0.0.1:7070';
  const shop = await loadShop();
  const registry = new HubRegistry({ url: hubUrl, onError: (err) => log(`hub: ${err.message}`) });
  // Spans go to the hub, which draws the dashboard from them; a free port for /metrics when
  // the service has no HTTP transport to serve it on.
  const observe = new Observability({ service: name, hubUrl, metricsPort: 0 });
  // Running handlers get 1.5 s to finish when a subscription closes, so stopping stays quick.
  const broker = observe.broker(await HubBroker.fromHub(hubUrl, { drainTimeoutMs: 1_500 }));
  const events = new EventBus(broker, shop.contract, { source: `/shop/${name}` });
  const closers: (() => unknown)[] = [];
  const clients: ConnectedClient<ServiceTypes>[] = [];
  const stopping = new AbortController();
  let server: Server | undefined;
  /** Services that serve nothing (payments, traffic) still have metrics: on a listener of their own. */
  let metricsListener: MetricsListener | undefined;

  const stop = async (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) process.exit(1); // a second Ctrl-C: give up draining
    stopping.abort();
    const started = Date.now();
    log(`${signal}: stopping`);
    setTimeout(() => {
      log(`still stopping after ${STOP_LIMIT_MS} ms, exiting`);
      process.exit(1);
    }, STOP_LIMIT_MS).unref();
    const step = async (what: string, run: () => unknown) => {
      try {
        await run();
      } catch (err) {
        log(`stop: ${what}: ${(err as Error).message}`);
      }
    };
    await step('server', () => server?.close(1_000));
    for (const close of closers.reverse()) await step('close', close);
    await step('clients', () => Promise.all(clients.map((c) => c.close())));
    await step('broker', () => broker.close());
    await step('registry', () => registry.close());
    await step('metrics', () => metricsListener?.close());
    await step('observability', () => observe.shutdown()); // the last spans go to the hub
    log(`stopped in ${Date.now() - started} ms`);
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal));

  return {
    name,
    log,
    hubUrl,
    registry,
    broker,
    events,
    observe,
    get metricsUrl() {
      return server?.metricsUrl ?? metricsListener?.url;
    },
    shop,
    stopping: stopping.signal,
    connect<S extends ServiceTypes>(service: ServiceDescriptor, transport: TransportKind) {
      const client = connect<S>(service, { registry, transports: [transport], observe });
      clients.push(client as ConnectedClient<ServiceTypes>);
      return client;
    },
    async serve<S extends ServiceTypes>(
      service: ServiceDescriptor,
      implementation: Implementation<S>,
      transports: Partial<Record<TransportKind, number>>,
    ) {
      if (server) throw new Error('serve() is called once per service');
      const host = process.env.HOST ?? '127.0.0.1';
      const listen = (kind: TransportKind) =>
        transports[kind] === undefined ? false : { host, port: transports[kind] };
      server = new Server({
        grpc: listen('grpc'),
        http: listen('http'),
        native: listen('native'),
        observe,
      });
      server.add<S>(service, implementation);
      const addresses = await server.listen();
      await server.register({ registry, deregisterDelayMs: 300 });
      const where = Object.entries(addresses).map(([kind, a]) => `${kind} ${a.host}:${a.port}`);
      log(`serving ${service.fullName} on ${where.join(', ')}; registered with ${hubUrl}`);
      if (server.metricsUrl) log(`metrics on ${server.metricsUrl}`);
      return server;
    },
    onStop(close) {
      closers.push(close);
    },
    async ready(what) {
      if (!server && observe.metrics && !metricsListener) {
        metricsListener = await serveMetrics(observe.metrics, {
          host: process.env.HOST ?? '127.0.0.1',
          port: 0,
        });
        log(`metrics on ${metricsListener.url}`);
      }
      log(`ready: ${what}`);
      process.send?.({ switchboard: 'ready' });
    },
  };
}
