/**
 * Any delivered message as one CloudEvents JSON document (structured mode), whichever mode it
 * came in: for consumers that log, forward or inspect events without the contract's types.
 */
import type { MessageType } from '../../contract/descriptors.ts';
import type { Delivery } from '../../messaging/broker.ts';
import { readEnvelope } from './incoming.ts';
import { decodeData, JSON_CONTENT_TYPE } from './payload.ts';
import { type CloudEventJson, type EventData, toCloudEventJson } from './structured.ts';

/**
 * The event in `delivery`. With `type`, protobuf data is rendered as its proto3 JSON in `data`;
 * without, binary data stays in `data_base64`. A plain (non-CloudEvents) message gets its
 * broker id, `topic:<topic>` as source and the type's name (or "unknown") as type.
 * Throws a StatusError (INVALID_ARGUMENT) when the message cannot be read.
 */
export function cloudEventOf(delivery: Delivery, type?: MessageType): CloudEventJson {
  const envelope = readEnvelope(delivery, { enforceDeadline: false });
  const attributes = envelope.attributes ?? {
    id: delivery.id,
    source: `topic:${delivery.topic}`,
    type: type?.fullName ?? 'unknown',
    ...(envelope.contentType === undefined ? {} : { datacontenttype: envelope.contentType }),
  };
  let data: EventData | undefined = envelope.data;
  if (type && data && 'bytes' in data) {
    data = { json: type.toJson(decodeData(type, data, envelope.contentType)) };
    return toCloudEventJson({ ...attributes, datacontenttype: JSON_CONTENT_TYPE }, data);
  }
  return toCloudEventJson(attributes, data);
}
