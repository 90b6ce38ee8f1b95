import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InstanceTable } from '../discovery/instance-table.ts';
import type { HubApi, HubState } from './api/hub-api.ts';
import { HubHttpError, sendError, sendJson } from './http-kit.ts';

export interface HubServerOptions {
  /** '127.0.0.1' unless set. */
  host?: string;
  /** 7070 unless set; 0 picks a free port. */
  port?: number;
  /** Most instances the registry holds. */
  maxInstances?: number;
  /** Extra API families, after the built-in ones. */
  apis?: ((state: HubState) => HubApi)[];
}

export const DEFAULT_HUB_PORT = 7070;

/**
 * The hub: Switchboard's embedded registry server (later also broker and dashboard), one HTTP
 * port for its own API and the Consul- and Eureka-compatible ones. Runs in its own process
 * (`switchboard hub`) or inside a test or an app.
 */
export class HubServer {
  readonly registry: InstanceTable;
  readonly #options: HubServerOptions;
  readonly #closing = new AbortController();
  readonly #apis: HubApi[];
  #server: http.Server | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: HubServerOptions = {}) {
    this.#options = options;
    this.registry = new InstanceTable({ maxInstances: options.maxInstances });
    const state: HubState = { registry: this.registry, closing: this.#closing.signal };
    this.#apis = (options.apis ?? []).map((make) => make(state));
  }

  async listen(): Promise<AddressInfo> {
    const server = http.createServer((req, res) => this.#dispatch(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    server.keepAliveTimeout = 5_000;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? DEFAULT_HUB_PORT, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#sweeper = setInterval(() => this.registry.sweep(), 250);
    this.#sweeper.unref();
    return server.address() as AddressInfo;
  }

  /** "http://127.0.0.1:7070" once listening. */
  get url(): string {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('the hub is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#closing.abort();
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://hub');
      if (url.pathname === '/healthz') {
        sendJson(res, 200, { status: 'SERVING' });
        return;
      }
      for (const api of this.#apis) {
        if (await api.handle(req, res, url)) return;
      }
      sendError(res, 404, `no hub endpoint ${req.method} ${url.pathname}`);
    } catch (err) {
      if (err instanceof HubHttpError) sendError(res, err.status, err.message);
      else sendError(res, 500, `hub: ${(err as Error).message}`);
    }
  }
}
