/**
 * An event's data and its media type: protobuf binary by default, or the proto3 JSON mapping
 * for consumers that are not Switchboard. Encoding and decoding go through the contract's
 * MessageType; nothing here knows protobuf itself.
 */
import type { MessageType } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { isJsonMedia, mediaTypeOf } from './headers.ts';
import type { EventData } from './structured.ts';

/** How a message's data is encoded on the wire. */
export type PayloadEncoding = 'protobuf' | 'json';

export const PROTOBUF_CONTENT_TYPE = 'application/protobuf';
export const JSON_CONTENT_TYPE = 'application/json';

/** Media types read as protobuf binary; a message without a content type is read as protobuf too. */
const PROTOBUF_MEDIA = new Set([
  PROTOBUF_CONTENT_TYPE,
  'application/x-protobuf',
  'application/vnd.google.protobuf',
  'application/octet-stream',
]);

export function contentTypeOf(encoding: PayloadEncoding): string {
  return encoding === 'json' ? JSON_CONTENT_TYPE : PROTOBUF_CONTENT_TYPE;
}

/** The data of `message`. Throws INTERNAL (the caller's bug) when it does not fit the type. */
export function encodeData(type: MessageType, message: unknown, encoding: PayloadEncoding): EventData {
  const value = (message ?? {}) as Record<string, unknown>;
  return encoding === 'json' ? { json: type.toJson(value) } : { bytes: type.encode(value) };
}

/** The payload bytes of binary mode: protobuf as is, JSON as UTF-8 text. */
export function dataBytes(data: EventData): Uint8Array {
  return 'bytes' in data ? data.bytes : new TextEncoder().encode(JSON.stringify(data.json));
}

/**
 * The message in `data`, read by its media type. Unknown JSON members are skipped, as protobuf
 * binary skips unknown fields, so newer producers do not break older consumers.
 * INVALID_ARGUMENT when the data does not decode or the media type is neither protobuf nor JSON.
 */
export function decodeData<T>(type: MessageType<T>, data: EventData | undefined, contentType?: string): T {
  if (data === undefined) return type.decode(new Uint8Array(0));
  if ('json' in data) return type.fromJson(data.json, { ignoreUnknownFields: true });
  const media = mediaTypeOf(contentType);
  if (media === undefined || PROTOBUF_MEDIA.has(media)) return type.decode(data.bytes);
  if (isJsonMedia(media)) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data.bytes));
    } catch (err) {
      throw new StatusError(
        Status.INVALID_ARGUMENT,
        `malformed JSON data for ${type.fullName}: ${(err as Error).message}`,
      );
    }
    return type.fromJson(json, { ignoreUnknownFields: true });
  }
  throw new StatusError(
    Status.INVALID_ARGUMENT,
    `unsupported content type ${JSON.stringify(contentType)} for ${type.fullName} (expected protobuf or JSON)`,
  );
}
