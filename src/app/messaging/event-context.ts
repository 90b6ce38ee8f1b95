/**
 * What an event handler knows about the message it handles: where it came from, how often it
 * was delivered, its CloudEvents attributes, the trace context and deadline it carries.
 */

import { StatusError } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import { PROPAGATED_HEADERS } from '../../core/client.ts';
import { MAX_TIMEOUT_MS, timeRemaining } from '../../core/deadline.ts';
import type { CallOptions } from '../../core/transport.ts';
import type { Delivery } from '../../messaging/broker.ts';
import type { CloudEventAttributes } from './cloudevents.ts';
import type { Envelope } from './incoming.ts';

export interface EventContext {
  readonly topic: string;
  /** The message id: the event's id, and the key to recognise a redelivery by. */
  readonly id: string;
  readonly key: string | undefined;
  /** 1 on the first delivery, growing with every redelivery. */
  readonly attempt: number;
  /** Undefined when a foreign producer sent a plain message. */
  readonly cloudEvent: CloudEventAttributes | undefined;
  /** The headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The headers as call metadata: `traceparent`, `tracestate`, `baggage` and the rest. */
  readonly metadata: Metadata;
  /** Epoch ms from `x-switchboard-deadline`; `Infinity` when the message carries none. */
  readonly deadline: number;
  /** Aborted with DEADLINE_EXCEEDED when the deadline passes. */
  readonly signal: AbortSignal;
  timeRemaining(): number;
  /**
   * Options for a call made on behalf of this event: its deadline (when it has one), signal
   * and trace context. `client.sayHello(req, ctx.callOptions())`.
   */
  callOptions(): CallOptions;
}

/** The context of one delivery; `dispose()` once the handler is done, to drop its timer. */
export class DeliveryContext implements EventContext {
  readonly topic: string;
  readonly id: string;
  readonly key: string | undefined;
  readonly attempt: number;
  readonly cloudEvent: CloudEventAttributes | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly metadata: Metadata;
  readonly deadline: number;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(delivery: Delivery, envelope: Envelope) {
    this.topic = delivery.topic;
    this.id = envelope.attributes?.id ?? delivery.id;
    this.key = delivery.key;
    this.attempt = delivery.attempt;
    this.cloudEvent = envelope.attributes;
    this.headers = envelope.headers;
    this.metadata = envelope.metadata;
    this.deadline = envelope.deadline;
    const remaining = this.deadline - Date.now();
    // Beyond setTimeout's range (about 24 days) a timer would fire at once instead.
    if (remaining <= MAX_TIMEOUT_MS) {
      const abort = () =>
        this.#controller.abort(new StatusError(Status.DEADLINE_EXCEEDED, 'the message deadline passed'));
      this.#timer = setTimeout(abort, Math.max(0, remaining)).unref();
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  timeRemaining(): number {
    return timeRemaining(this.deadline);
  }

  callOptions(): CallOptions {
    const metadata: Record<string, string[]> = {};
    for (const key of PROPAGATED_HEADERS) {
      const values = this.metadata.getAll(key).filter((v): v is string => typeof v === 'string');
      if (values.length > 0) metadata[key] = values;
    }
    // Without a deadline of its own the call keeps the client's default: no call waits forever.
    const deadline = Number.isFinite(this.deadline) ? { deadline: this.deadline } : {};
    return { ...deadline, signal: this.signal, metadata, parent: null };
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}
