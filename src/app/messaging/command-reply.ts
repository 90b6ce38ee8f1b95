/**
 * The replies a command consumer sends to requests: the response as a CloudEvent of the
 * output type with status "0", or an empty message whose headers carry the error's status
 * code and (percent-encoded) message, so the requester rejects with the same StatusError.
 */
import { randomUUID } from 'node:crypto';
import type { MessageType } from '../../contract/descriptors.ts';
import type { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { Broker } from '../../messaging/broker.ts';
import { binaryHeaders } from './cloudevents.ts';
import { CORRELATION_ID_HEADER, REPLY_TO_HEADER, STATUS_HEADER, STATUS_MESSAGE_HEADER } from './headers.ts';
import { buildMessage } from './outgoing.ts';
import type { PayloadEncoding } from './payload.ts';

/** Where the reply to one request goes. */
export interface ReplyTarget {
  readonly topic: string;
  readonly correlationId: string;
}

/** The reply target a request names in its (lower-cased) headers; undefined for a plain command. */
export function replyTargetOf(headers: Readonly<Record<string, string>>): ReplyTarget | undefined {
  const topic = headers[REPLY_TO_HEADER];
  const correlationId = headers[CORRELATION_ID_HEADER];
  if (!topic || !correlationId) return undefined;
  return { topic, correlationId };
}

export class ReplySender {
  readonly #broker: Broker;
  readonly #source: string;

  constructor(broker: Broker, source: string) {
    this.#broker = broker;
    this.#source = source;
  }

  /** Sends `response` (encoded protobuf) as `output`, in the encoding the request used. */
  async ok(
    target: ReplyTarget,
    output: MessageType,
    response: Uint8Array,
    encoding: PayloadEncoding,
  ): Promise<void> {
    const message = buildMessage(
      {
        ceType: output.fullName,
        messageType: output,
        message: output.decode(response),
        headers: { [CORRELATION_ID_HEADER]: target.correlationId, [STATUS_HEADER]: String(Status.OK) },
      },
      { source: this.#source, encoding, mode: 'binary' },
    );
    await this.#broker.publish(target.topic, message);
  }

  /** Sends `error`; best effort, as the command fails (and is dead-lettered or retried) anyway. */
  async error(target: ReplyTarget | undefined, error: StatusError): Promise<void> {
    if (!target) return;
    const headers = {
      ...binaryHeaders({ id: randomUUID(), source: this.#source, type: 'google.rpc.Status' }),
      [CORRELATION_ID_HEADER]: target.correlationId,
      [STATUS_HEADER]: String(error.code),
      [STATUS_MESSAGE_HEADER]: encodeURIComponent(error.message),
    };
    await this.#broker.publish(target.topic, { headers, payload: new Uint8Array(0) }).catch(() => {});
  }
}
