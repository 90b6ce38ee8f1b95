/** One finished span as the hub keeps it: flat, in milliseconds, with its service's name. */

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export type AttributeValue = string | number | boolean;

export type SpanStatusCode = 'ok' | 'error' | 'unset';

export interface SpanRecord {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** The resource's `service.name` ("unknown_service" when the exporter sent none). */
  readonly service: string;
  readonly kind: SpanKindName;
  /** Epoch milliseconds, with sub-millisecond precision. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly status: { readonly code: SpanStatusCode; readonly message?: string };
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** Topic nodes of the topology are named so, beside service nodes. */
export function topicNode(topic: string): string {
  return `topic:${topic}`;
}

/** `network.protocol.name` values of Switchboard's tracing (docs/tracing.md) as transport names. */
const PROTOCOL_TRANSPORTS: Record<string, string> = {
  http: 'http',
  'switchboard-native': 'native',
  inproc: 'inproc',
  'switchboard-queue': 'queue',
};

/**
 * The transport a call span went over: `switchboard.transport` when set, else what the
 * attributes of Switchboard's tracing and the OpenTelemetry conventions imply (`rpc.system`
 * grpc; `network.protocol.name`; an `http.*` method). Undefined when they do not say (a
 * client by name does not know its transport: its server span does).
 */
export function spanTransport(span: SpanRecord): string | undefined {
  const a = span.attributes;
  const declared = a['switchboard.transport'];
  if (typeof declared === 'string' && declared) return declared;
  if (span.kind === 'producer' || span.kind === 'consumer') return 'queue';
  if (a['rpc.system'] === 'grpc') return 'grpc';
  const protocol = a['network.protocol.name'];
  if (typeof protocol === 'string' && Object.hasOwn(PROTOCOL_TRANSPORTS, protocol)) {
    return PROTOCOL_TRANSPORTS[protocol];
  }
  if ('http.request.method' in a || 'http.method' in a) return 'http';
  return undefined;
}

/** The topic a producer or consumer span names (`messaging.destination.name`). */
export function spanDestination(span: SpanRecord): string | undefined {
  const name = span.attributes['messaging.destination.name'] ?? span.attributes['messaging.destination'];
  return typeof name === 'string' && name ? name : undefined;
}

/** The RPC service a client or server span names (`rpc.service`). */
export function spanRpcService(span: SpanRecord): string | undefined {
  const name = span.attributes['rpc.service'];
  return typeof name === 'string' && name ? name : undefined;
}
