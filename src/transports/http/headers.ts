import type { IncomingHttpHeaders } from 'node:http';
import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import { MAX_TIMEOUT_MS, parseGrpcTimeout } from '../../core/deadline.ts';

/**
 * Headers that belong to HTTP itself (hop-by-hop, framing, content negotiation, the client's
 * software) or to this transport (deadline, status): never call metadata, in either direction.
 * Everything else with a valid metadata name is metadata: `authorization`, `traceparent`,
 * `x-*`, cookies… (`-bin` values travel base64).
 */
const RESERVED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'content-length',
  'content-type',
  'content-encoding',
  'accept',
  'accept-encoding',
  'user-agent',
  'date',
  'server',
  'vary',
  'grpc-timeout',
  'x-timeout-ms',
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
]);

/** Response headers that carry trailers for responses that cannot have real ones (grpc-gateway's convention). */
export const TRAILER_PREFIX = 'grpc-trailer-';

export function isReservedHeader(name: string): boolean {
  return RESERVED.has(name) || name.startsWith(TRAILER_PREFIX);
}

/** What the server reads from a request's headers in one pass over `rawHeaders`. */
export interface RequestHead {
  metadata: Metadata;
  contentType: string | undefined;
  accept: string | undefined;
  /** Content-Length, when the request declares one. */
  contentLength: number | undefined;
  /** The caller's timeout in ms (the earlier of grpc-timeout and x-timeout-ms), or undefined. */
  timeoutMs: number | undefined;
}

/** Reads metadata and the headers the transport needs; a malformed timeout is INVALID_ARGUMENT. */
export function readRequestHead(raw: readonly string[]): RequestHead {
  const metadata = new Metadata();
  let contentType: string | undefined;
  let accept: string | undefined;
  let contentLength: number | undefined;
  let timeoutMs: number | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (RESERVED.has(name)) {
      if (name === 'content-type') contentType = value;
      else if (name === 'accept') accept = value;
      else if (name === 'content-length') contentLength = Number(value);
      else if (name === 'grpc-timeout') timeoutMs = earlier(timeoutMs, parseGrpcTimeout(value));
      else if (name === 'x-timeout-ms') timeoutMs = earlier(timeoutMs, parseTimeoutMs(value));
      continue;
    }
    if (!Metadata.validKey(name)) continue;
    if (Metadata.isBinaryKey(name)) {
      for (const part of value.split(',')) metadata.add(name, Buffer.from(part.trim(), 'base64'));
    } else {
      metadata.add(name, value);
    }
  }
  return { metadata, contentType, accept, contentLength, timeoutMs };
}

function earlier(a: number | undefined, b: number): number {
  return a === undefined || b < a ? b : a;
}

/** `x-timeout-ms`: a non-negative integer number of milliseconds. */
export function parseTimeoutMs(value: string): number {
  const text = value.trim();
  if (!/^\d{1,10}$/.test(text)) {
    throw new StatusError(Status.INVALID_ARGUMENT, `invalid x-timeout-ms ${JSON.stringify(value)}`);
  }
  return Math.min(Number(text), MAX_TIMEOUT_MS);
}

/**
 * Appends metadata to a flat [name, value, …] header list: `-bin` values base64, reserved names
 * skipped (a handler must not be able to corrupt the response's framing). `prefix` marks trailers.
 */
export function pushMetadataHeaders(out: string[], metadata: Metadata | undefined, prefix = ''): void {
  if (metadata === undefined || metadata.size === 0) return;
  for (const [name, value] of metadata) {
    if (isReservedHeader(name)) continue;
    out.push(prefix + name, typeof value === 'string' ? value : Buffer.from(value).toString('base64'));
  }
}

/**
 * Splits a response's headers into header metadata and trailer metadata: `grpc-trailer-*`
 * headers (what the server had as trailers when it answered) and, for streams, real trailers.
 */
export function metadataFromResponse(
  headers: IncomingHttpHeaders,
  trailers?: IncomingHttpHeaders,
): { headers: Metadata; trailers: Metadata } {
  const head = new Metadata();
  const tail = new Metadata();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name.startsWith(TRAILER_PREFIX)) addValues(tail, name.slice(TRAILER_PREFIX.length), value);
    else if (!RESERVED.has(name)) addValues(head, name, value);
  }
  if (trailers) {
    for (const [name, value] of Object.entries(trailers)) {
      if (value !== undefined && !RESERVED.has(name)) addValues(tail, name, value);
    }
  }
  return { headers: head, trailers: tail };
}

function addValues(metadata: Metadata, name: string, value: string | string[]): void {
  if (!Metadata.validKey(name)) return;
  for (const v of Array.isArray(value) ? value : [value]) {
    if (Metadata.isBinaryKey(name)) {
      for (const part of v.split(',')) metadata.add(name, Buffer.from(part.trim(), 'base64'));
    } else {
      metadata.add(name, v);
    }
  }
}

/** Request headers of a call: metadata (base64 for `-bin`), reserved names skipped. */
export function requestHeaders(
  metadata: Metadata,
  base: Record<string, string>,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { ...base };
  for (const [name, value] of metadata) {
    if (isReservedHeader(name)) continue;
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('base64');
    const existing = headers[name];
    if (existing === undefined) headers[name] = text;
    else if (Array.isArray(existing)) existing.push(text);
    else headers[name] = [existing, text];
  }
  return headers;
}
