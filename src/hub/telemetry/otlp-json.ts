import type { AttributeValue, SpanKindName, SpanRecord, SpanStatusCode } from './span-record.ts';

/**
 * Reads an OTLP/JSON ExportTraceServiceRequest (the encoding of `OTLPTraceExporter` from
 * @opentelemetry/exporter-trace-otlp-http, and of any collector's otlphttp exporter with
 * `encoding: json`) into SpanRecords. Every problem is a TypeError naming where it is
 * ("resourceSpans[0].scopeSpans[1].spans[2].traceId: …"), for a 400 the sender can act on.
 */

export interface OtlpLimits {
  /** Attributes kept per span; the rest are dropped. */
  maxAttributes: number;
  /** String values longer than this are cut. */
  maxValueLength: number;
}

export const DEFAULT_OTLP_LIMITS: OtlpLimits = { maxAttributes: 64, maxValueLength: 1024 };

const KINDS: readonly SpanKindName[] = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'];
const KIND_NAMES: Record<string, SpanKindName> = {
  SPAN_KIND_UNSPECIFIED: 'internal',
  SPAN_KIND_INTERNAL: 'internal',
  SPAN_KIND_SERVER: 'server',
  SPAN_KIND_CLIENT: 'client',
  SPAN_KIND_PRODUCER: 'producer',
  SPAN_KIND_CONSUMER: 'consumer',
};
const STATUS: readonly SpanStatusCode[] = ['unset', 'ok', 'error'];
const STATUS_NAMES: Record<string, SpanStatusCode> = {
  STATUS_CODE_UNSET: 'unset',
  STATUS_CODE_OK: 'ok',
  STATUS_CODE_ERROR: 'error',
};
const TRACE_ID = /^[0-9a-f]{32}$/i;
const SPAN_ID = /^[0-9a-f]{16}$/i;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

type Json = Record<string, unknown>;

export function parseOtlpTraces(body: unknown, limits: OtlpLimits = DEFAULT_OTLP_LIMITS): SpanRecord[] {
  const request = object(body, 'request');
  const spans: SpanRecord[] = [];
  const resourceSpans = optionalArray(request.resourceSpans, 'resourceSpans');
  for (const [r, resourceValue] of resourceSpans.entries()) {
    const where = `resourceSpans[${r}]`;
    const resource = object(resourceValue, where);
    const resourceAttributes =
      resource.resource === undefined
        ? {}
        : attributes(object(resource.resource, `${where}.resource`).attributes, `${where}.resource`, limits);
    const serviceName = resourceAttributes['service.name'];
    const service = typeof serviceName === 'string' && serviceName ? serviceName : 'unknown_service';
    for (const [s, scopeValue] of optionalArray(resource.scopeSpans, `${where}.scopeSpans`).entries()) {
      const scopeWhere = `${where}.scopeSpans[${s}]`;
      const scope = object(scopeValue, scopeWhere);
      for (const [i, spanValue] of optionalArray(scope.spans, `${scopeWhere}.spans`).entries()) {
        spans.push(span(spanValue, `${scopeWhere}.spans[${i}]`, service, limits));
      }
    }
  }
  return spans;
}

function span(value: unknown, where: string, service: string, limits: OtlpLimits): SpanRecord {
  const v = object(value, where);
  const traceId = hexId(v.traceId, TRACE_ID, `${where}.traceId`, 32);
  const spanId = hexId(v.spanId, SPAN_ID, `${where}.spanId`, 16);
  if (traceId === ZERO_TRACE) throw new TypeError(`${where}.traceId: an all-zero trace id is invalid`);
  if (spanId === ZERO_SPAN) throw new TypeError(`${where}.spanId: an all-zero span id is invalid`);
  let parentSpanId: string | undefined;
  if (v.parentSpanId !== undefined && v.parentSpanId !== '' && v.parentSpanId !== null) {
    parentSpanId = hexId(v.parentSpanId, SPAN_ID, `${where}.parentSpanId`, 16);
  }
  if (typeof v.name !== 'string') throw new TypeError(`${where}.name: expected a string`);
  const start = nanos(v.startTimeUnixNano, `${where}.startTimeUnixNano`);
  const end = nanos(v.endTimeUnixNano, `${where}.endTimeUnixNano`);
  if (end < start) throw new TypeError(`${where}: endTimeUnixNano is before startTimeUnixNano`);
  const record: SpanRecord = {
    traceId,
    spanId,
    ...(parentSpanId && parentSpanId !== ZERO_SPAN ? { parentSpanId } : {}),
    name: cut(v.name, limits.maxValueLength),
    service,
    kind: enumValue(v.kind, KINDS, KIND_NAMES, 'internal', `${where}.kind`),
    startMs: toMs(start),
    durationMs: toMs(end - start),
    status: status(v.status, `${where}.status`, limits),
    attributes: attributes(v.attributes, where, limits),
  };
  return record;
}

function status(value: unknown, where: string, limits: OtlpLimits): SpanRecord['status'] {
  if (value === undefined || value === null) return { code: 'unset' };
  const v = object(value, where);
  const code = enumValue(v.code, STATUS, STATUS_NAMES, 'unset', `${where}.code`);
  if (v.message === undefined || v.message === '') return { code };
  if (typeof v.message !== 'string') throw new TypeError(`${where}.message: expected a string`);
  return { code, message: cut(v.message, limits.maxValueLength) };
}

function attributes(value: unknown, where: string, limits: OtlpLimits): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  let kept = 0;
  for (const [i, item] of optionalArray(value, `${where}.attributes`).entries()) {
    const at = `${where}.attributes[${i}]`;
    const kv = object(item, at);
    if (typeof kv.key !== 'string') throw new TypeError(`${at}.key: expected a string`);
    const parsed = anyValue(kv.value, `${at}.value`, limits);
    if (parsed === undefined || kept >= limits.maxAttributes) continue;
    // `__proto__` as a key would otherwise set the prototype of `out`.
    Object.defineProperty(out, kv.key, {
      value: parsed,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    kept++;
  }
  return out;
}

/** An AnyValue as a flat value; arrays and key lists become their JSON text, empty values nothing. */
function anyValue(value: unknown, where: string, limits: OtlpLimits): AttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  const v = object(value, where);
  if ('stringValue' in v) {
    if (typeof v.stringValue !== 'string') throw new TypeError(`${where}.stringValue: expected a string`);
    return cut(v.stringValue, limits.maxValueLength);
  }
  if ('boolValue' in v) {
    if (typeof v.boolValue !== 'boolean') throw new TypeError(`${where}.boolValue: expected true or false`);
    return v.boolValue;
  }
  if ('intValue' in v) {
    // int64 is a string in proto3 JSON; JavaScript exporters send a number.
    const n =
      typeof v.intValue === 'string' && /^-?\d{1,20}$/.test(v.intValue) ? Number(v.intValue) : v.intValue;
    if (typeof n !== 'number' || !Number.isInteger(n))
      throw new TypeError(`${where}.intValue: expected an integer`);
    return n;
  }
  if ('doubleValue' in v) {
    const d = v.doubleValue;
    if (typeof d === 'number') return d;
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return Number(d);
    throw new TypeError(`${where}.doubleValue: expected a number`);
  }
  if ('bytesValue' in v) {
    if (typeof v.bytesValue !== 'string') throw new TypeError(`${where}.bytesValue: expected base64 text`);
    return cut(v.bytesValue, limits.maxValueLength);
  }
  if ('arrayValue' in v || 'kvlistValue' in v) return cut(JSON.stringify(v), limits.maxValueLength);
  return undefined;
}

function enumValue<T extends string>(
  value: unknown,
  byNumber: readonly T[],
  byName: Record<string, T>,
  fallback: T,
  where: string,
): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < byNumber.length) {
    return byNumber[value] as T;
  }
  if (typeof value === 'string' && Object.hasOwn(byName, value)) return byName[value] as T;
  throw new TypeError(`${where}: ${JSON.stringify(value)} is not a known value`);
}

/** A uint64 nanosecond time: a decimal string (proto3 JSON) or a number. */
function nanos(value: unknown, where: string): bigint {
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return BigInt(Math.round(value));
  throw new TypeError(`${where}: expected nanoseconds since the epoch as a decimal string`);
}

function toMs(ns: bigint): number {
  // Microsecond precision: enough for spans, and exact in a double for any plausible time.
  return Number(ns / 1000n) / 1000;
}

function hexId(value: unknown, pattern: RegExp, where: string, digits: number): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new TypeError(`${where}: expected ${digits} hex digits (OTLP/JSON encodes ids as hex, not base64)`);
  }
  return value.toLowerCase();
}

function object(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where}: expected a JSON object`);
  }
  return value as Json;
}

function optionalArray(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TypeError(`${where}: expected an array`);
  return value;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
