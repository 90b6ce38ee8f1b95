/**
 * A tracer provider for one service: spans batched and exported as OTLP/HTTP JSON to the hub
 * (which accepts them at POST /v1/traces), to any OpenTelemetry collector, or to the exporter
 * given. Nothing global is touched unless `register` is true, so two services in one process
 * (as in tests) keep separate providers.
 */
import { propagation, type Tracer, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { TRACER_NAME } from './interceptors.ts';

export interface StartTracingOptions {
  /** `service.name` of every span: what a trace viewer groups them by. */
  serviceName: string;
  /** The hub's HTTP address ("http://127.0.0.1:4100"): spans go to `<hubUrl>/v1/traces`. */
  hubUrl?: string;
  /** Where spans go (the full URL, ".../v1/traces"); wins over the environment and `hubUrl`. */
  otlpUrl?: string;
  /** Export here instead of OTLP/HTTP (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter;
  /**
   * A bearer token for a hub that requires one (docs/security.md#hub-access), sent with the
   * spans when they go to `hubUrl`; `$SWITCHBOARD_TOKEN` unless set. Other OTLP endpoints take
   * theirs from OTEL_EXPORTER_OTLP_HEADERS.
   */
  token?: string;
  /**
   * Batch spans before exporting (the default for OTLP), or export each as it ends (the
   * default for a given `exporter`, so that tests see spans at once).
   */
  batch?: boolean;
  /** More resource attributes (`service.version`, `deployment.environment.name`, …). */
  resourceAttributes?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Make this the process's global tracer provider and W3C trace context the global
   * propagator, for other OpenTelemetry instrumentation. Off unless true.
   */
  register?: boolean;
}

export interface Tracing {
  /** Hand it to `tracingInterceptors({ tracer })` and `new TracedBroker(broker, { tracer })`. */
  readonly tracer: Tracer;
  readonly provider: BasicTracerProvider;
  /** Where OTLP export goes; undefined with a given `exporter`. */
  readonly url: string | undefined;
  /** Exports what is buffered, then stops the provider. */
  shutdown(): Promise<void>;
}

/** The OTLP URL: the option, else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT, the hub. */
export function otlpTracesUrl(
  options: Pick<StartTracingOptions, 'otlpUrl' | 'hubUrl'>,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (options.otlpUrl) return options.otlpUrl;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  if (options.hubUrl) return `${options.hubUrl.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

export function startTracing(options: StartTracingOptions): Tracing {
  if (!options.serviceName) throw new TypeError('startTracing needs a serviceName');
  const url = options.exporter ? undefined : otlpTracesUrl(options);
  // Without any URL the exporter uses the OTLP default, http://localhost:4318/v1/traces.
  // The hub's token goes only where the hub's URL won (not to another OTLP endpoint).
  const token = options.token ?? (process.env.SWITCHBOARD_TOKEN || undefined);
  const toHub = url !== undefined && url === otlpTracesUrl({ hubUrl: options.hubUrl }, {});
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({
      url,
      headers: token && toHub ? { authorization: `Bearer ${token}` } : undefined,
    });
  const batch = options.batch ?? options.exporter === undefined;
  const processor: SpanProcessor = batch
    ? new BatchSpanProcessor(exporter)
    : new SimpleSpanProcessor(exporter);
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME are read, but the code's serviceName wins.
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ ...options.resourceAttributes, 'service.name': options.serviceName }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  if (options.register) {
    trace.setGlobalTracerProvider(provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  let stopping: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(TRACER_NAME),
    provider,
    url,
    shutdown() {
      stopping ??= provider.shutdown().finally(() => {
        if (options.register) {
          trace.disable();
          propagation.disable();
        }
      });
      return stopping;
    },
  };
}
