/**
 * Observability for one service process, in one object: traces exported to the hub (or any
 * OTLP endpoint), Prometheus metrics, and JSON logs carrying the trace id. `Server` and
 * `connect()` take it as `observe`, and `observe.broker(b)` wraps a broker, so a service turns
 * everything on with one line and every part records under the same service name.
 */
import type { Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type ClusterEvents, combineClusterEvents } from '../cluster/cluster-events.ts';
import type { ClientInterceptor, ServerInterceptor } from '../core/interceptors.ts';
import type { Broker } from '../messaging/broker.ts';
import { createLogger, type Logger, type LoggerOptions } from '../observe/log.ts';
import { metricsInterceptors } from '../observe/metrics/call-metrics.ts';
import { clusterMetricsObserver } from '../observe/metrics/cluster-metrics.ts';
import { METRICS_PATH, metricsEndpoint } from '../observe/metrics/endpoint.ts';
import { MeteredBroker, watchBrokerStats } from '../observe/metrics/metered-broker.ts';
import { Metrics } from '../observe/metrics/metrics.ts';
import { tracingInterceptors } from '../observe/tracing/interceptors.ts';
import { otlpTracesUrl, startTracing, type Tracing } from '../observe/tracing/start-tracing.ts';
import { TracedBroker } from '../observe/tracing/traced-broker.ts';
import type { HttpEndpoint } from '../transports/http/index.ts';
import { EjectionReporter } from './ejection-reporter.ts';

export interface ObservabilityOptions {
  /** The service's name in spans, metrics and logs: $SWITCHBOARD_SERVICE_NAME, else "switchboard". */
  service?: string;
  /** The hub whose `/v1/traces` receives spans: $SWITCHBOARD_HUB unless set. */
  hubUrl?: string;
  /** An OTLP/HTTP traces endpoint; wins over the hub (as do the OTEL_EXPORTER_OTLP_* variables). */
  otlpUrl?: string;
  /**
   * Spans: on when there is somewhere to send them (a hub, an OTLP URL or variable, an
   * exporter); false turns them off.
   */
  tracing?: boolean;
  /** Where spans go instead of OTLP (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter;
  /** Prometheus metrics: on unless false; pass a Metrics to share its registry. */
  metrics?: Metrics | boolean;
  /** Process metrics (CPU, memory, event loop) in the registry: on unless false. */
  processMetrics?: boolean;
  /**
   * The port of the metrics listener a `Server` without an HTTP transport starts, so that
   * every service can be scraped: 0 (unless set) picks a free one, which the server announces
   * in its registration's metadata (`metrics`); false starts none.
   */
  metricsPort?: number | false;
  /** Log level: $LOG_LEVEL, else 'info'. */
  logLevel?: LoggerOptions['level'];
  /** Where log lines go: stdout unless set. */
  logDestination?: NodeJS.WritableStream;
  /**
   * Tell the hub which instances this process's clients by name eject, for the dashboard: on
   * when there is a hub, unless false.
   */
  reportEjections?: boolean;
}

export class Observability {
  readonly service: string;
  readonly metrics: Metrics | undefined;
  readonly logger: Logger;
  /** Where a server without an HTTP transport serves metrics: a port (0: a free one), or false. */
  readonly metricsPort: number | false;
  readonly #tracing: Tracing | undefined;
  readonly #stopWatches: (() => void)[] = [];
  readonly #ejections: EjectionReporter | undefined;

  constructor(options: ObservabilityOptions = {}) {
    this.service = options.service ?? process.env.SWITCHBOARD_SERVICE_NAME ?? 'switchboard';
    const hubUrl = options.hubUrl ?? process.env.SWITCHBOARD_HUB;
    const exportable =
      options.exporter !== undefined || otlpTracesUrl({ otlpUrl: options.otlpUrl, hubUrl }) !== undefined;
    if (options.tracing ?? exportable) {
      this.#tracing = startTracing({
        serviceName: this.service,
        hubUrl,
        otlpUrl: options.otlpUrl,
        exporter: options.exporter,
      });
    }
    this.metrics =
      options.metrics instanceof Metrics
        ? options.metrics
        : options.metrics === false
          ? undefined
          : new Metrics({ processMetrics: options.processMetrics ?? true });
    this.metricsPort = this.metrics ? (options.metricsPort ?? 0) : false;
    this.logger = createLogger({
      service: this.service,
      level: options.logLevel,
      destination: options.logDestination,
    });
    if (hubUrl && (options.reportEjections ?? true)) {
      this.#ejections = new EjectionReporter({
        hubUrl,
        by: this.service,
        onError: (err) => this.logger.warn({ err }, 'ejection report to the hub failed'),
      });
    }
  }

  /** The tracer spans are made with; undefined with tracing off. */
  get tracer(): Tracer | undefined {
    return this.#tracing?.tracer;
  }

  /** Tracing first, so a call refused by any later interceptor still has its span and count. */
  serverInterceptors(): ServerInterceptor[] {
    const out: ServerInterceptor[] = [];
    if (this.#tracing) out.push(tracingInterceptors({ tracer: this.#tracing.tracer }).server);
    if (this.metrics) out.push(metricsInterceptors(this.metrics).server);
    return out;
  }

  /** `transport`: the kind of a client at one target; "cluster" for one that calls by name. */
  clientInterceptors(transport: string): ClientInterceptor[] {
    const out: ClientInterceptor[] = [];
    const kind = transport === 'cluster' ? undefined : transport;
    if (this.#tracing)
      out.push(tracingInterceptors({ tracer: this.#tracing.tracer, transport: kind }).client);
    if (this.metrics) out.push(metricsInterceptors(this.metrics, { clientTransport: transport }).client);
    return out;
  }

  /** What a client by name reports of its governance (retries, ejections): as metrics, and ejections to the hub. */
  clusterEvents(): ClusterEvents | undefined {
    return combineClusterEvents(this.metrics && clusterMetricsObserver(this.metrics), this.#ejections);
  }

  /** `broker` with spans around publish and process and metrics of both (lag from its stats()). */
  broker(broker: Broker): Broker {
    let out = broker;
    if (this.metrics) {
      out = new MeteredBroker(out, this.metrics);
      const stats = broker.stats?.bind(broker);
      if (stats) this.#stopWatches.push(watchBrokerStats(this.metrics, stats));
    }
    if (this.#tracing) out = new TracedBroker(out, { tracer: this.#tracing.tracer });
    return out;
  }

  /** `/metrics`, for the HTTP transport's endpoints. */
  endpoints(): Record<string, HttpEndpoint> {
    return this.metrics ? { [METRICS_PATH]: metricsEndpoint(this.metrics) } : {};
  }

  /** Exports the spans still batched, stops the broker watches and the ejection reports. */
  async shutdown(): Promise<void> {
    for (const stop of this.#stopWatches.splice(0)) stop();
    await this.#ejections?.close();
    await this.#tracing?.shutdown();
    this.logger.flush();
  }
}
