import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ListenAddress } from '../core/transport.ts';
import { InstanceTable } from '../discovery/instance-table.ts';
import type { Broker } from '../messaging/broker.ts';
import { LogBroker } from '../messaging/embedded/index.ts';
import { MemoryBroker } from '../messaging/memory/broker.ts';
import { closeAfterAnswer } from '../transports/http/response-writer.ts';
import {
  type ConnectionLimits,
  capConnections,
  countOption,
  DEFAULT_MAX_CONNECTIONS,
  handshakeTimeout,
} from '../transports/listener-limits.ts';
import { type ServerTlsOptions, serverTls } from '../transports/tls/server-tls.ts';
import { HubAccess } from './access/hub-access.ts';
import type { HubAccessConfig, HubAccessPolicy } from './access/policy.ts';
import { consulApi } from './api/consul-api.ts';
import { eurekaApi } from './api/eureka-api.ts';
import type { HubApi, HubState } from './api/hub-api.ts';
import { HUB_OPENAPI_PATH, hubOpenApiDocument } from './api/openapi.ts';
import { RegistryApi, type RegistryApiOptions } from './api/registry-api.ts';
import { BrokerEndpoint, DEFAULT_HUB_BROKER_PORT } from './broker-endpoint.ts';
import { DashboardAssets } from './dashboard/dashboard-assets.ts';
import { HubHttpError, sendError, sendJson } from './http-kit.ts';
import { HUB_METRICS_PATH, HubMetrics } from './hub-metrics.ts';
import { RegistryFile } from './persistence.ts';
import { TelemetryApi, type TelemetryOptions } from './telemetry/telemetry-api.ts';

export interface HubServerOptions extends RegistryApiOptions, ConnectionLimits {
  /** '127.0.0.1' unless set. */
  host?: string;
  /** 7070 unless set; 0 picks a free port. */
  port?: number;
  /** Most instances the registry holds (100 000 unless set); more registrations get 507. */
  maxInstances?: number;
  /**
   * The API families served beside Switchboard's own `/api/v1/` (which always comes first):
   * the Consul- and Eureka-compatible ones unless set.
   */
  apis?: ((state: HubState) => HubApi)[];
  /** Keeps the registry in `<dataDir>/registry.json` across restarts; in memory only unless set. */
  dataDir?: string;
  /** How often expired leases are removed. 250 ms unless set (expiry is late by at most this). */
  sweepIntervalMs?: number;
  /**
   * A request must arrive whole (headers and body) within this, else 408; its headers within
   * this or 10 s, whichever is less (slowloris). Answers that last (watch streams, blocking
   * queries, the dashboard stream) are not bounded by it. 30 s unless set.
   */
  requestTimeoutMs?: number;
  /**
   * Connections open at once on the HTTP(S) port, and as many again on the broker port; one
   * more is closed at once. 4096 unless set.
   */
  maxConnections?: number;
  /** Largest request line and headers the HTTP port takes; larger gets 431. 16 KiB unless set. */
  maxHeaderBytes?: number;
  /** Where the hub reports trouble it survives (an unreadable data file). stderr unless set. */
  log?: (message: string) => void;
  /**
   * The broker served on `brokerPort`: unless set, the embedded log under `<dataDir>/broker`
   * with `dataDir`, else one in memory (nothing survives the hub, like the registry); false:
   * no broker port.
   */
  broker?: Broker | false;
  /** The broker port (native transport): unless set, `port` + 1 (7071), or a free one when `port` is 0. */
  brokerPort?: number;
  /** Traces, topology and dashboard data (`/v1/traces`, `/api/v1/dashboard/…`): limits and timings. */
  telemetry?: TelemetryOptions;
  /**
   * Who may read and change what, on every API and the broker port (docs/security.md#hub-access):
   * a policy, its configuration, or the path of its JSON file. Everything is allowed unless set.
   */
  access?: HubAccessPolicy | HubAccessConfig | string;
  /**
   * HTTPS on the hub's port and TLS on its broker port; with a CA, clients (services) must show
   * a certificate it signed (docs/security.md). Files are watched and rotated.
   */
  tls?: ServerTlsOptions;
}

export const DEFAULT_HUB_PORT = 7070;

/** Largest request head the hub takes unless told (Node's own default, stated so it stays). */
export const DEFAULT_HUB_MAX_HEADER_BYTES = 16 * 1024;

/** GET: the broker port's target, kind and capabilities (404 when the hub serves no broker). */
export const BROKER_INFO_PATH = '/api/v1/broker';

/** Consul's agent/health/catalog subset and Eureka's REST API, on the hub's one port. */
const DEFAULT_APIS = [consulApi, eurekaApi];

/** What a running hub holds and serves, for tests, the dashboard and leak checks. */
export interface HubStats {
  instances: number;
  watchers: number;
  blockingQueries: number;
  /** Bytes queued to watch streams and not yet taken by their sockets. */
  watchBufferedBytes: number;
  /** Open connections on the HTTP(S) port. */
  connections: number;
  /** Open connections on the broker port (0 without one). */
  brokerConnections: number;
}

/**
 * The hub: Switchboard's embedded registry server (later also broker and dashboard), one HTTP
 * port for its own API and the Consul- and Eureka-compatible ones. Runs in its own process
 * (`switchboard hub`) or inside a test or an app.
 */
export class HubServer {
  readonly registry: InstanceTable;
  /** The OTLP receiver, traces, topology and the dashboard's data. */
  readonly telemetry: TelemetryApi;
  readonly #options: HubServerOptions;
  readonly #access: HubAccess;
  readonly #closing = new AbortController();
  readonly #registryApi: RegistryApi;
  readonly #apis: HubApi[];
  readonly #file: RegistryFile | undefined;
  readonly #dashboard = new DashboardAssets();
  readonly #maxHeaderBytes: number;
  #server: http.Server | undefined;
  #stopTlsWatch: (() => void) | undefined;
  #brokerEndpoint: BrokerEndpoint | undefined;
  #brokerAddress: ListenAddress | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #connections = 0;
  readonly #metrics = new HubMetrics({
    instances: () => this.registry.all(),
    stats: () => this.stats(),
    broker: () => this.broker,
  });

  constructor(options: HubServerOptions = {}) {
    this.#options = options;
    // Checked now, so a bad limit fails here rather than half-way through listen().
    this.#maxHeaderBytes = countOption(
      options.maxHeaderBytes,
      DEFAULT_HUB_MAX_HEADER_BYTES,
      'maxHeaderBytes',
    );
    countOption(options.maxConnections, DEFAULT_MAX_CONNECTIONS, 'maxConnections');
    handshakeTimeout(options);
    this.registry = new InstanceTable({ maxInstances: options.maxInstances });
    this.#access = new HubAccess(options.access);
    const state: HubState = { registry: this.registry, closing: this.#closing.signal, access: this.#access };
    this.#registryApi = new RegistryApi(state, options);
    // Ahead of the registry API, which answers every other /api/v1/ path itself.
    this.telemetry = new TelemetryApi(state, () => this.broker, options.telemetry);
    this.#apis = [
      this.telemetry,
      this.#registryApi,
      ...(options.apis ?? DEFAULT_APIS).map((make) => make(state)),
    ];
    const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
    this.#file =
      options.dataDir === undefined ? undefined : new RegistryFile(options.dataDir, this.registry, { log });
  }

  /** Loads the saved registry (with `dataDir`), then listens. */
  async listen(): Promise<AddressInfo> {
    if (this.#server) throw new Error('the hub is already listening');
    await this.#file?.load();
    const requestTimeout = this.#options.requestTimeoutMs ?? 30_000;
    const secure = this.#options.tls ? serverTls(this.#options.tls) : undefined;
    const settings: http.ServerOptions = {
      // Both bound only the arrival of a request: watch streams and blocking queries that
      // answer for minutes are not cut by them. A connection that sends nothing, or trickles
      // its headers (slowloris), is closed by headersTimeout.
      requestTimeout,
      headersTimeout: Math.min(10_000, requestTimeout),
      connectionsCheckingInterval: Math.max(100, Math.min(1000, requestTimeout / 2)),
      keepAliveTimeout: 5_000,
      maxHeaderSize: this.#maxHeaderBytes,
    };
    const dispatch = (req: IncomingMessage, res: ServerResponse) => void this.#dispatch(req, res);
    const server = secure
      ? https.createServer(
          { ...settings, ...secure.options, handshakeTimeout: handshakeTimeout(this.#options) },
          dispatch,
        )
      : http.createServer(settings, dispatch);
    capConnections(server, this.#options, `the hub's HTTP port`);
    server.on('connection', (socket) => {
      this.#connections++;
      socket.once('close', () => this.#connections--);
    });
    this.#server = server;
    if (secure) this.#stopTlsWatch = secure.watch(server as https.Server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? DEFAULT_HUB_PORT, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    await this.#listenBroker();
    this.#file?.start();
    this.#sweeper = setInterval(() => this.registry.sweep(), this.#options.sweepIntervalMs ?? 250);
    this.#sweeper.unref();
    return server.address() as AddressInfo;
  }

  /** "http://127.0.0.1:7070" once listening. */
  get url(): string {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('the hub is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${this.#options.tls ? 'https' : 'http'}://${host}:${address.port}`;
  }

  /** The broker port's "host:port" (native transport) once listening; undefined without one. */
  get brokerTarget(): string | undefined {
    const address = this.#brokerAddress;
    if (!address) return undefined;
    return address.host.includes(':')
      ? `[${address.host}]:${address.port}`
      : `${address.host}:${address.port}`;
  }

  /** The broker the hub serves, once listening. */
  get broker(): Broker | undefined {
    return this.#brokerEndpoint?.broker;
  }

  async #listenBroker(): Promise<void> {
    const configured = this.#options.broker;
    if (configured === false) return;
    const broker =
      configured ??
      (this.#options.dataDir === undefined
        ? new MemoryBroker()
        : await LogBroker.open(path.join(this.#options.dataDir, 'broker')));
    const hubPort = this.#options.port;
    const port =
      this.#options.brokerPort ??
      (hubPort === undefined ? DEFAULT_HUB_BROKER_PORT : hubPort === 0 ? 0 : hubPort + 1);
    const endpoint = new BrokerEndpoint(broker, {
      host: this.#options.host ?? '127.0.0.1',
      port,
      access: this.#access.policy,
      tls: this.#options.tls,
      maxConnections: this.#options.maxConnections,
      tlsHandshakeTimeoutMs: this.#options.tlsHandshakeTimeoutMs,
    });
    try {
      this.#brokerAddress = await endpoint.listen();
    } catch (err) {
      await broker.close();
      this.#server?.close();
      throw err;
    }
    this.#brokerEndpoint = endpoint;
  }

  /** Where clients find the broker port: HubBroker.fromHub() and the CLI ask here. */
  #brokerInfo(res: ServerResponse): void {
    const broker = this.broker;
    if (!broker) throw new HubHttpError(404, 'this hub serves no broker');
    sendJson(res, 200, { target: this.brokerTarget, kind: broker.kind, capabilities: broker.capabilities });
  }

  stats(): HubStats {
    return {
      instances: this.registry.size,
      ...this.#registryApi.stats,
      connections: this.#connections,
      brokerConnections: this.#brokerEndpoint?.connectionCount ?? 0,
    };
  }

  /** Ends watches and blocking queries, closes every connection, and saves the registry. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#stopTlsWatch?.();
    this.#closing.abort();
    const server = this.#server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // One turn for blocking queries to answer now that they were told to stop.
      await new Promise((resolve) => setImmediate(resolve));
      server.closeAllConnections();
      await closed;
    }
    await this.#brokerEndpoint?.close();
    await this.#file?.close();
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = requestUrl(req);
      if (url.pathname === '/healthz') {
        sendJson(res, 200, { status: 'SERVING' });
        return;
      }
      if (url.pathname === BROKER_INFO_PATH) {
        this.#access.require(req, res, 'connect');
        this.#brokerInfo(res);
        return;
      }
      if (url.pathname === HUB_OPENAPI_PATH && req.method === 'GET') {
        sendJson(res, 200, hubOpenApiDocument({ secured: this.#access.enabled }));
        return;
      }
      if (url.pathname === HUB_METRICS_PATH) {
        this.#access.require(req, res, 'dashboard');
        await this.#metrics.serve(req, res);
        return;
      }
      for (const api of this.#apis) {
        if (await api.handle(req, res, url)) return;
      }
      if (this.#dashboard.serves(url)) this.#access.require(req, res, 'dashboard');
      if (await this.#dashboard.handle(req, res, url)) return;
      sendError(res, 404, `no hub endpoint ${req.method} ${url.pathname}`);
    } catch (err) {
      // A body left unread (too large) is not worth reading to its end; close without a reset.
      if (!req.complete && !res.headersSent) closeAfterAnswer(req, res);
      if (err instanceof HubHttpError) sendError(res, err.status, err.message);
      else sendError(res, 500, `hub: ${(err as Error).message}`);
    }
  }
}

function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://hub');
  } catch {
    throw new HubHttpError(400, `malformed request target ${JSON.stringify((req.url ?? '').slice(0, 80))}`);
  }
}
