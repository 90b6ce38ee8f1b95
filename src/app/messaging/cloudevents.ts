/**
 * CloudEvents 1.0 context attributes, and binary content mode: each attribute a `ce-` header,
 * the data's media type the `content-type` header, the data itself the message payload.
 * Structured mode (one JSON document) is in structured.ts.
 */
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { CONTENT_TYPE } from './headers.ts';

export const CLOUDEVENTS_SPEC_VERSION = '1.0';

/** The context attributes of one event, whichever mode carried it. */
export interface CloudEventAttributes {
  /** Unique per source: Switchboard uses the message id. */
  readonly id: string;
  /** A URI-reference naming the producer: "/billing", "urn:switchboard:host-1". */
  readonly source: string;
  /** Switchboard uses the message's (events) or method's (commands) full name. */
  readonly type: string;
  /** RFC 3339. */
  readonly time?: string;
  readonly subject?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  /** Extension attributes (traceparent, …): names of a-z and 0-9, at most 20 characters. */
  readonly extensions?: Readonly<Record<string, string>>;
}

const OPTIONAL = ['time', 'subject', 'dataschema'] as const;
const CONTEXT = new Set(['specversion', 'id', 'source', 'type', 'datacontenttype', ...OPTIONAL]);
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** Whether `name` may be an extension attribute: the spec's character rule, not a context attribute. */
export function isExtensionName(name: string): boolean {
  return EXTENSION_NAME.test(name) && !CONTEXT.has(name) && name !== 'data' && name !== 'data_base64';
}

/** The binary-mode headers of `attributes`. Throws a TypeError for a missing required attribute. */
export function binaryHeaders(attributes: CloudEventAttributes): Record<string, string> {
  requireString(attributes.id, 'id', TypeError);
  requireString(attributes.source, 'source', TypeError);
  requireString(attributes.type, 'type', TypeError);
  const headers: Record<string, string> = {
    'ce-specversion': CLOUDEVENTS_SPEC_VERSION,
    'ce-id': attributes.id,
    'ce-source': attributes.source,
    'ce-type': attributes.type,
  };
  for (const name of OPTIONAL) {
    const value = attributes[name];
    if (value !== undefined) headers[`ce-${name}`] = value;
  }
  if (attributes.datacontenttype !== undefined) headers[CONTENT_TYPE] = attributes.datacontenttype;
  for (const [name, value] of Object.entries(attributes.extensions ?? {})) {
    if (!isExtensionName(name))
      throw new TypeError(`invalid CloudEvents extension name ${JSON.stringify(name)}`);
    headers[`ce-${name}`] = value;
  }
  return headers;
}

/**
 * The attributes of a binary-mode event from its lower-cased headers, with the `ce-` prefix
 * (HTTP, NATS) or `ce_` (the Kafka binding). Undefined when there is no specversion header:
 * the message is no CloudEvent. INVALID_ARGUMENT for another version or a missing attribute.
 */
export function readBinaryAttributes(
  headers: Readonly<Record<string, string>>,
): CloudEventAttributes | undefined {
  const prefix = 'ce-specversion' in headers ? 'ce-' : 'ce_specversion' in headers ? 'ce_' : undefined;
  if (prefix === undefined) return undefined;
  const get = (name: string): string | undefined => headers[`${prefix}${name}`];
  checkVersion(get('specversion'));
  const extensions: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers)) {
    if (!header.startsWith(prefix)) continue;
    const name = header.slice(prefix.length);
    if (isExtensionName(name)) extensions[name] = value;
  }
  return withOptional(
    {
      id: requireString(get('id'), 'id'),
      source: requireString(get('source'), 'source'),
      type: requireString(get('type'), 'type'),
      datacontenttype: headers[CONTENT_TYPE],
      extensions,
    },
    get,
  );
}

/** Copies the optional attributes `get` finds onto `attributes`. */
export function withOptional(
  attributes: CloudEventAttributes,
  get: (name: string) => string | undefined,
): CloudEventAttributes {
  const out: { -readonly [K in keyof CloudEventAttributes]: CloudEventAttributes[K] } = { ...attributes };
  for (const name of OPTIONAL) {
    const value = get(name);
    if (value !== undefined) out[name] = value;
  }
  if (out.datacontenttype === undefined) delete out.datacontenttype;
  return out;
}

export function checkVersion(version: unknown): void {
  if (version !== CLOUDEVENTS_SPEC_VERSION) {
    throw new StatusError(
      Status.INVALID_ARGUMENT,
      `unsupported CloudEvents specversion ${JSON.stringify(version)} (expected "1.0")`,
    );
  }
}

/** `value` if it is a non-empty string; otherwise an error naming the attribute. */
export function requireString(
  value: unknown,
  name: string,
  kind: 'status' | typeof TypeError = 'status',
): string {
  if (typeof value === 'string' && value !== '') return value;
  const message = `CloudEvents attribute ${name} is missing or not a non-empty string`;
  throw kind === 'status' ? new StatusError(Status.INVALID_ARGUMENT, message) : new TypeError(message);
}
