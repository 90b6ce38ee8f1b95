/**
 * CloudEvents structured content mode: the whole event — attributes, extensions and data — as
 * one JSON document with `content-type: application/cloudevents+json`, for consumers that want
 * a single document. JSON data sits in `data`; binary data (protobuf) in `data_base64`.
 */
import type { JsonValue } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import {
  CLOUDEVENTS_SPEC_VERSION,
  type CloudEventAttributes,
  checkVersion,
  isExtensionName,
  requireString,
  withOptional,
} from './cloudevents.ts';
import { isJsonMedia } from './headers.ts';

export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

/** An event's data, not yet decoded into a message: bytes, or JSON already parsed. */
export type EventData = { readonly bytes: Uint8Array } | { readonly json: JsonValue };

/** One CloudEvent as a JSON document. */
export interface CloudEventJson {
  readonly specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time?: string;
  readonly subject?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  readonly data?: JsonValue;
  readonly data_base64?: string;
  /** Extension attributes. */
  readonly [extension: string]: JsonValue | undefined;
}

/** The JSON document of an event. */
export function toCloudEventJson(
  attributes: CloudEventAttributes,
  data: EventData | undefined,
): CloudEventJson {
  const doc: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(attributes.extensions ?? {})) {
    if (isExtensionName(name)) doc[name] = value;
  }
  Object.assign(doc, {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: requireString(attributes.id, 'id', TypeError),
    source: requireString(attributes.source, 'source', TypeError),
    type: requireString(attributes.type, 'type', TypeError),
  });
  for (const name of ['time', 'subject', 'datacontenttype', 'dataschema'] as const) {
    const value = attributes[name];
    if (value !== undefined) doc[name] = value;
  }
  if (data && 'json' in data) doc.data = data.json;
  else if (data) doc.data_base64 = Buffer.from(data.bytes).toString('base64');
  return doc as CloudEventJson;
}

/** The payload of a structured-mode message. */
export function encodeStructured(attributes: CloudEventAttributes, data: EventData | undefined): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(toCloudEventJson(attributes, data)));
}

/**
 * Reads a structured-mode payload. INVALID_ARGUMENT when it is not UTF-8 JSON, not one event
 * object (batches are not read), of another specversion, or lacks a required attribute.
 */
export function decodeStructured(payload: Uint8Array): {
  attributes: CloudEventAttributes;
  data: EventData | undefined;
} {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (err) {
    throw invalid(`a structured CloudEvent must be a UTF-8 JSON document: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw invalid('a structured CloudEvent must be one JSON object (batches are not supported)');
  }
  const event = doc as Record<string, unknown>;
  checkVersion(event.specversion);
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(event)) {
    if (!isExtensionName(name)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      extensions[name] = String(value);
    }
  }
  const optional = (name: string): string | undefined => {
    const value = event[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw invalid(`CloudEvents attribute ${name} must be a string`);
    return value;
  };
  const datacontenttype = optional('datacontenttype');
  const attributes = withOptional(
    {
      id: requireString(event.id, 'id'),
      source: requireString(event.source, 'source'),
      type: requireString(event.type, 'type'),
      datacontenttype,
      extensions,
    },
    optional,
  );
  return { attributes, data: dataOf(event, datacontenttype) };
}

function dataOf(event: Record<string, unknown>, contentType: string | undefined): EventData | undefined {
  const hasData = event.data !== undefined;
  const base64 = event.data_base64;
  if (hasData && base64 !== undefined) throw invalid('a CloudEvent has data or data_base64, not both');
  if (base64 !== undefined) {
    if (typeof base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
      throw invalid('data_base64 is not base64');
    }
    return { bytes: new Uint8Array(Buffer.from(base64, 'base64')) };
  }
  if (!hasData) return undefined;
  // Text data of a non-JSON media type is carried as a JSON string: its bytes are the UTF-8.
  if (typeof event.data === 'string' && contentType !== undefined && !isJsonMedia(contentType)) {
    return { bytes: new TextEncoder().encode(event.data) };
  }
  return { json: event.data as JsonValue };
}

function invalid(message: string): StatusError {
  return new StatusError(Status.INVALID_ARGUMENT, message);
}
