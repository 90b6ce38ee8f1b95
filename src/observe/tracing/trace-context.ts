/**
 * W3C trace context in Switchboard's two carriers: call metadata (every transport puts its
 * headers there) and message headers. Tracing works by rewriting `traceparent` and
 * `tracestate` in place of the caller's, so whatever already copies them along — the client's
 * PROPAGATED_HEADERS, the EventBus's message headers — carries the new span onward.
 */
import { type Context, ROOT_CONTEXT, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Metadata } from '../../contract/metadata.ts';

const propagator = new W3CTraceContextPropagator();
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => [...new Set([...carrier].map(([key]) => key))],
  get: (carrier, key) => {
    const values = carrier.getAll(key).filter((v): v is string => typeof v === 'string');
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => {
    carrier.set(key, value);
  },
};

type Headers = Record<string, string>;

const headersGetter: TextMapGetter<Readonly<Headers>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * `base` with the remote span the metadata names as parent; `base` itself when there is none
 * or `traceparent` is malformed (the propagator ignores what it cannot parse).
 */
export function extractFromMetadata(metadata: Metadata, base: Context = ROOT_CONTEXT): Context {
  if (!metadata.has('traceparent')) return base;
  return propagator.extract(base, metadata, metadataGetter);
}

/** Puts the span of `context` into `metadata` in place of any trace context it had. */
export function injectIntoMetadata(context: Context, metadata: Metadata): void {
  for (const key of TRACE_HEADERS) metadata.delete(key);
  propagator.inject(context, metadata, metadataSetter);
}

export function extractFromHeaders(headers: Readonly<Headers>, base: Context = ROOT_CONTEXT): Context {
  if (headers.traceparent === undefined) return base;
  return propagator.extract(base, headers, headersGetter);
}

/** A copy of `headers` whose trace context is the span of `context`. */
export function headersWithContext(headers: Readonly<Headers> | undefined, context: Context): Headers {
  const copy: Headers = { ...headers };
  for (const key of TRACE_HEADERS) delete copy[key];
  propagator.inject(context, copy, headersSetter);
  return copy;
}
