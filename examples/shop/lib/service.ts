/**
 * What every shop service does around its own logic: find the hub (SWITCHBOARD_HUB), join
 * its registry and broker, serve on free ports and register, call others by name, and on
 * SIGTERM/SIGINT stop in order — deregister and drain calls, stop consuming, close clients,
 * the broker and the registry — then exit 0.
 */
import {
  type ConnectedClient,
  connect,
  EventBus,
  HubBroker,
  HubRegistry,
  type Implementation,
  Server,
  type ServiceDescriptor,
  type ServiceTypes,
  StatusError,
  type TransportKind,
} from '../../../src/index.ts';
import { loadShop, type ShopContract } from './contract.ts';
import { type Log, logger } from './log.ts';

export interface ShopService {
  readonly name: string;
  readonly log: Log;
  readonly hubUrl: string;
  readonly registry: HubRegistry;
  readonly broker: HubBroker;
  /** Typed events of the shop's contract, published with source /shop/<name>. */
  readonly events: EventBus;
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
   * its IPC channel, which matters for services that register nothing.
   */
  ready(what: string): void;
}

/** Stopping longer than this is a bug worth seeing: exit 1 instead of hanging. */
const STOP_LIMIT_MS = 5_000;

export async function startService(fallbackName: string): Promise<ShopService> {
  const name = process.env.SWITCHBOARD_SERVICE_NAME ?? fallbackName;
  const log = logger(name);
  const hubUrl = process.env.SWITCHBOARD_HUB ?? 'http://127.0.0.1:7070';
  const shop = await loadShop();
  const registry = new HubRegistry({ url: hubUrl, onError: (err) => log(`hub: ${err.message}`) });
  // Running handlers get 1.5 s to finish when a subscription closes, so stopping stays quick.
  const broker = await HubBroker.fromHub(hubUrl, { drainTimeoutMs: 1_500 });
  const events = new EventBus(broker, shop.contract, { source: `/shop/${name}` });
  const closers: (() => unknown)[] = [];
  const clients: ConnectedClient<ServiceTypes>[] = [];
  const stopping = new AbortController();
  let server: Server | undefined;

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
    shop,
    stopping: stopping.signal,
    connect<S extends ServiceTypes>(service: ServiceDescriptor, transport: TransportKind) {
      const client = connect<S>(service, { registry, transports: [transport] });
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
      server = new Server({ grpc: listen('grpc'), http: listen('http'), native: listen('native') });
      server.add<S>(service, implementation);
      const addresses = await server.listen();
      await server.register({ registry, deregisterDelayMs: 300 });
      const where = Object.entries(addresses).map(([kind, a]) => `${kind} ${a.host}:${a.port}`);
      log(`serving ${service.fullName} on ${where.join(', ')}; registered with ${hubUrl}`);
      return server;
    },
    onStop(close) {
      closers.push(close);
    },
    ready(what) {
      log(`ready: ${what}`);
      process.send?.({ switchboard: 'ready' });
    },
  };
}

/**
 * Rethrows a downstream call's failure as this service's own: same code and message, without
 * the downstream's trailers (a trailer saying "never processed" would let our caller retry a
 * call that this service did start to handle).
 */
export function relay(err: unknown): never {
  const status = StatusError.from(err);
  throw new StatusError(status.code, status.message, { details: status.details });
}
