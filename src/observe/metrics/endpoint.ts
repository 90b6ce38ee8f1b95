/**
 * Where Prometheus scrapes: a handler for the HTTP transport's `endpoints` (GET /metrics beside
 * the service's routes), or a listener of its own for processes without an HTTP transport.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { capConnections } from '../../transports/listener-limits.ts';
import type { Metrics } from './metrics.ts';

/**
 * The shape of HttpServerOptions.endpoints' handlers (src/transports/http/server.ts), restated:
 * observe does not import transports.
 */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The default scrape path. */
export const METRICS_PATH = '/metrics';

/** Answers GET and HEAD with the registry in the Prometheus text format; 405 otherwise. */
export function metricsEndpoint(metrics: Metrics): MetricsHandler {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = await metrics.text();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`collecting metrics failed: ${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': metrics.contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

export interface ServeMetricsOptions {
  /** '127.0.0.1' unless set: metrics say much about a service, expose them on purpose. */
  host?: string;
  /** 9464 (the OpenTelemetry Prometheus exporter's port) unless set; 0 picks a free one. */
  port?: number;
  /** METRICS_PATH unless set. */
  path?: string;
  /** Scrapers connected at once; more are closed as they arrive. 64 unless set. */
  maxConnections?: number;
}

export interface MetricsListener {
  readonly host: string;
  readonly port: number;
  /** "http://127.0.0.1:9464/metrics" */
  readonly url: string;
  close(): Promise<void>;
}

export const DEFAULT_METRICS_PORT = 9464;

/** A small HTTP listener that serves `metrics` at `path` and 404 elsewhere. */
export async function serveMetrics(
  metrics: Metrics,
  options: ServeMetricsOptions = {},
): Promise<MetricsListener> {
  const scrapePath = options.path ?? METRICS_PATH;
  const handler = metricsEndpoint(metrics);
  // A scraper sends a small GET at once: anything slower or bigger is not one.
  const limits = {
    keepAliveTimeout: 5_000,
    headersTimeout: 5_000,
    requestTimeout: 10_000,
    maxHeaderSize: 8192,
  };
  const server = http.createServer(limits, (req, res) => {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (pathname === scrapePath) {
      void handler(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`no endpoint ${pathname}; metrics are at ${scrapePath}\n`);
  });
  capConnections(server, { maxConnections: options.maxConnections ?? 64 }, 'the metrics listener');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_METRICS_PORT, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    host: address.address,
    port: address.port,
    url: `http://${hostPart}:${address.port}${scrapePath}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
