/**
 * The hub's GET /metrics: its registry (instances per service and health), its watchers and
 * connections, its broker's topics and groups (lag, dead letters), and the Node process, all
 * read at scrape time. The hub counts nothing on its paths: what it holds is the metric.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TableEntry } from '../discovery/instance-table.ts';
import type { Broker } from '../messaging/broker.ts';
import { Metrics, metricsEndpoint, watchBrokerStats } from '../observe/metrics/index.ts';

/** GET: the hub's metrics in the Prometheus text format. */
export const HUB_METRICS_PATH = '/metrics';

export interface HubMetricsSources {
  /** Every registered instance (called per scrape). */
  instances(): readonly TableEntry[];
  stats(): { watchers: number; blockingQueries: number; watchBufferedBytes: number; connections: number };
  /** The broker the hub serves, if any (read per scrape: it starts after the HTTP port). */
  broker(): Broker | undefined;
}

/** Made on the first scrape, so a hub nobody scrapes pays nothing for it. */
export class HubMetrics {
  readonly #sources: HubMetricsSources;
  #handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;

  constructor(sources: HubMetricsSources) {
    this.#sources = sources;
  }

  serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#handler ??= metricsEndpoint(this.#build());
    return this.#handler(req, res);
  }

  #build(): Metrics {
    const sources = this.#sources;
    const metrics = new Metrics({ processMetrics: true });
    metrics.gauge(
      'switchboard_hub_instances',
      'Instances registered in the hub, by service and health (passing, warning, critical).',
      ['service', 'health'],
      function () {
        this.reset();
        for (const entry of sources.instances()) {
          this.inc({ service: entry.instance.service, health: entry.health });
        }
      },
    );
    const figure = (
      name: string,
      help: string,
      read: (s: ReturnType<HubMetricsSources['stats']>) => number,
    ) =>
      metrics.gauge(name, help, [], function () {
        this.set(read(sources.stats()));
      });
    figure(
      'switchboard_hub_watchers',
      'Open watch streams (server-sent events) on the registry.',
      (s) => s.watchers,
    );
    figure(
      'switchboard_hub_blocking_queries',
      'Consul-style blocking queries waiting for a change.',
      (s) => s.blockingQueries,
    );
    figure(
      'switchboard_hub_watch_buffered_bytes',
      'Bytes queued to watch streams and not yet taken by their sockets.',
      (s) => s.watchBufferedBytes,
    );
    figure('switchboard_hub_connections', 'Open HTTP connections to the hub port.', (s) => s.connections);
    watchBrokerStats(metrics, async () => {
      const broker = sources.broker();
      return broker?.stats ? broker.stats() : { topics: [] };
    });
    return metrics;
  }
}
