/**
 * One delivered message as Switchboard reads it, whoever produced it: a structured-mode
 * CloudEvent, a binary-mode one (`ce-` or `ce_` headers), or a plain message (no CloudEvents
 * attributes, data in the payload). Anything malformed is a StatusError, never a crash: the
 * caller dead-letters the message with the error as reason.
 */

import { StatusError } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import type { Delivery } from '../../messaging/broker.ts';
import { type CloudEventAttributes, readBinaryAttributes } from './cloudevents.ts';
import { CONTENT_TYPE, lowerCaseHeaders, mediaTypeOf } from './headers.ts';
import { checkDeadline, deadlineOf, metadataOf } from './propagation.ts';
import { decodeStructured, type EventData, STRUCTURED_CONTENT_TYPE } from './structured.ts';

export interface Envelope {
  /** The message headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** Undefined for a plain message. */
  readonly attributes: CloudEventAttributes | undefined;
  /** The data's media type. */
  readonly contentType: string | undefined;
  readonly data: EventData | undefined;
  /** Headers (and trace extension attributes) as call metadata. */
  readonly metadata: Metadata;
  /** Epoch ms, `Infinity` when the message carries none. */
  readonly deadline: number;
}

/**
 * Reads the envelope of `delivery`. INVALID_ARGUMENT when it is malformed; DEADLINE_EXCEEDED
 * when the deadline it carries has passed (unless `enforceDeadline` is false), so that its
 * handler never runs.
 */
export function readEnvelope(
  delivery: Pick<Delivery, 'headers' | 'payload'>,
  { enforceDeadline = true }: { enforceDeadline?: boolean } = {},
): Envelope {
  const headers = lowerCaseHeaders(delivery.headers);
  const media = mediaTypeOf(headers[CONTENT_TYPE]);
  let attributes: CloudEventAttributes | undefined;
  let contentType: string | undefined;
  let data: EventData | undefined;
  if (media === STRUCTURED_CONTENT_TYPE) {
    ({ attributes, data } = decodeStructured(delivery.payload));
    contentType = attributes.datacontenttype;
  } else if (media?.startsWith('application/cloudevents')) {
    throw new StatusError(
      Status.INVALID_ARGUMENT,
      `unsupported CloudEvents format ${media} (batches are not read)`,
    );
  } else {
    attributes = readBinaryAttributes(headers);
    contentType = headers[CONTENT_TYPE];
    data = { bytes: delivery.payload };
  }
  const deadline = deadlineOf(headers);
  if (enforceDeadline) checkDeadline(deadline);
  return { headers, attributes, contentType, data, metadata: metadataOf(headers, attributes), deadline };
}
