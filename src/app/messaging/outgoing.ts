/**
 * One message as Switchboard publishes it: the encoded data wrapped as a CloudEvent, in binary
 * mode (attributes as `ce-` headers, the data as payload) or structured mode (one JSON
 * document). Events, commands and replies are all built here.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { MessageType } from '../../contract/descriptors.ts';
import { PROPAGATED_HEADERS } from '../../core/client.ts';
import type { OutgoingMessage } from '../../messaging/broker.ts';
import { binaryHeaders, type CloudEventAttributes, isExtensionName } from './cloudevents.ts';
import { CONTENT_TYPE } from './headers.ts';
import { contentTypeOf, dataBytes, encodeData, type PayloadEncoding } from './payload.ts';
import { encodeStructured, STRUCTURED_CONTENT_TYPE } from './structured.ts';

/** CloudEvents content mode: attributes in headers (binary) or one JSON document (structured). */
export type ContentMode = 'binary' | 'structured';

/** How a publisher writes its messages. */
export interface EnvelopeOptions {
  /** The CloudEvents source: a URI-reference naming the producer. `/switchboard/<hostname>` unless set. */
  source?: string;
  /** Protobuf binary (the default), or the proto3 JSON mapping for non-Switchboard consumers. */
  encoding?: PayloadEncoding;
  /** Binary mode unless set. */
  mode?: ContentMode;
}

export type ResolvedEnvelope = Required<EnvelopeOptions>;

export function resolveEnvelope(options: EnvelopeOptions = {}): ResolvedEnvelope {
  const encoding = options.encoding ?? 'protobuf';
  const mode = options.mode ?? 'binary';
  if (encoding !== 'protobuf' && encoding !== 'json')
    throw new TypeError(`unknown encoding ${String(encoding)}`);
  if (mode !== 'binary' && mode !== 'structured') throw new TypeError(`unknown content mode ${String(mode)}`);
  const source = options.source ?? `/switchboard/${hostname()}`;
  if (typeof source !== 'string' || source === '') throw new TypeError('source must be a non-empty string');
  return { source, encoding, mode };
}

export interface MessageSpec {
  /** The CloudEvents type. */
  readonly ceType: string;
  /** Encodes the data. */
  readonly messageType: MessageType;
  readonly message: unknown;
  /** The message id (ce-id too); a new UUID unless set. */
  readonly id?: string;
  readonly key?: string;
  readonly subject?: string;
  /** Transport headers: trace context, deadline, reply-to… The CloudEvents ones win over these. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The message to publish for `spec`. Throws when the message does not fit its type. */
export function buildMessage(spec: MessageSpec, envelope: ResolvedEnvelope): OutgoingMessage {
  const data = encodeData(spec.messageType, spec.message, envelope.encoding);
  const id = spec.id ?? randomUUID();
  const attributes: CloudEventAttributes = {
    id,
    source: envelope.source,
    type: spec.ceType,
    time: new Date().toISOString(),
    datacontenttype: contentTypeOf(envelope.encoding),
    ...(spec.subject === undefined ? {} : { subject: spec.subject }),
  };
  const headers = { ...spec.headers };
  const keyed = spec.key === undefined ? {} : { key: spec.key };
  if (envelope.mode === 'structured') {
    // The trace context is also the distributed-tracing extension of the JSON document.
    const extensions: Record<string, string> = {};
    for (const key of PROPAGATED_HEADERS) {
      const value = headers[key];
      if (value !== undefined && isExtensionName(key)) extensions[key] = value;
    }
    headers[CONTENT_TYPE] = STRUCTURED_CONTENT_TYPE;
    return { id, ...keyed, headers, payload: encodeStructured({ ...attributes, extensions }, data) };
  }
  return { id, ...keyed, headers: { ...headers, ...binaryHeaders(attributes) }, payload: dataBytes(data) };
}
