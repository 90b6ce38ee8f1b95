import type { OutgoingHttpHeaders } from 'node:http2';
import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';

export const GRPC_CONTENT_TYPE = 'application/grpc';

/** What we can decode: sent as grpc-accept-encoding, both ways. We never compress. */
export const ACCEPT_ENCODING = 'identity,deflate,gzip';

/**
 * Headers the gRPC protocol itself uses: never metadata, in either direction. A caller or a
 * handler that sets one of these as metadata would corrupt the call, so they are skipped.
 */
const RESERVED = new Set([
  'content-type',
  'content-length',
  'te',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  // HTTP/2 forbids connection-specific headers (node throws on them).
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

export function isReservedHeader(name: string): boolean {
  return name.charCodeAt(0) === 0x3a /* ':' */ || RESERVED.has(name);
}

/** True for application/grpc and application/grpc+proto (the only codec we speak), also with params. */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !value.startsWith(GRPC_CONTENT_TYPE)) return false;
  const rest = value.slice(GRPC_CONTENT_TYPE.length);
  return rest === '' || rest.startsWith('+proto') || rest.startsWith(';');
}

/**
 * Metadata from the flat [name, value, name, value, …] list node:http2 gives next to the
 * header object: repeated headers stay separate values there, not joined with ", ".
 * `-bin` values are base64 (padded or not); reserved and invalid names are skipped.
 */
export function metadataFromRawHeaders(raw: readonly string[]): Metadata {
  const metadata = new Metadata();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (isReservedHeader(name) || !Metadata.validKey(name)) continue;
    const value = raw[i + 1]!;
    if (Metadata.isBinaryKey(name)) {
      // Some peers join repeated binary values with commas; base64 never contains one.
      if (value.includes(',')) {
        for (const part of value.split(',')) metadata.add(name, Buffer.from(part.trim(), 'base64'));
      } else {
        metadata.add(name, Buffer.from(value, 'base64'));
      }
    } else {
      metadata.add(name, value);
    }
  }
  return metadata;
}

/** gRPC's rule for the values of keys that do not end in `-bin`. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Copies metadata into outgoing headers: `-bin` values base64, repeated keys as arrays.
 * A text value that is not printable ASCII throws INTERNAL when `strict` (a caller's mistake,
 * reported on its call) and is left out otherwise (a handler's response metadata: the call's
 * status matters more than one header).
 */
export function addMetadataHeaders(
  headers: OutgoingHttpHeaders,
  metadata: Metadata | undefined,
  strict = false,
): void {
  if (metadata === undefined || metadata.size === 0) return;
  for (const [name, value] of metadata) {
    if (isReservedHeader(name)) continue;
    if (typeof value === 'string' && !PRINTABLE_ASCII.test(value)) {
      if (strict) {
        throw new StatusError(Status.INTERNAL, `metadata ${name} has a value that is not printable ASCII`);
      }
      continue;
    }
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('base64');
    const existing = headers[name];
    if (existing === undefined) headers[name] = text;
    else if (Array.isArray(existing)) existing.push(text);
    else headers[name] = [String(existing), text];
  }
}
