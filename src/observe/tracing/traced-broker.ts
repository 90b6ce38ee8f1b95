/**
 * Tracing for any Broker, as a decorator. A publish is a PRODUCER span, child of the trace
 * context in the message's headers (the EventBus puts the calling request's there), and the
 * message goes out carrying the producer span. Each delivery is a CONSUMER span, child of the
 * producer span, and the handler gets the delivery with the consumer span in its headers, so
 * the calls an event handler makes (with `ctx.callOptions()`) become its children.
 */
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { StatusError } from '../../contract/errors.ts';
import type {
  Broker,
  BrokerCapabilities,
  BrokerStats,
  Delivery,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../../messaging/broker.ts';
import {
  ATTR_DELIVERY_ATTEMPT,
  ATTR_DELIVERY_OUTCOME,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
} from './attributes.ts';
import { TRACER_NAME } from './interceptors.ts';
import { extractFromHeaders, headersWithContext } from './trace-context.ts';

export interface TracedBrokerOptions {
  /** From `startTracing()`; the globally registered provider's tracer unless set. */
  tracer?: Tracer;
}

export class TracedBroker implements Broker {
  readonly inner: Broker;
  readonly #tracer: Tracer;
  readonly stats?: () => Promise<BrokerStats>;

  constructor(inner: Broker, options: TracedBrokerOptions = {}) {
    this.inner = inner;
    this.#tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
    // Only where the inner broker has it: callers test for the optional member.
    if (inner.stats) this.stats = () => inner.stats!();
  }

  get kind(): string {
    return this.inner.kind;
  }

  get capabilities(): BrokerCapabilities {
    return this.inner.capabilities;
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    const parent = message.headers ? extractFromHeaders(message.headers, context.active()) : context.active();
    const attributes: Attributes = {
      ...this.#messagingAttributes(topic),
      [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      [ATTR_MESSAGING_OPERATION_NAME]: 'publish',
    };
    if (message.id !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = message.id;
    const span = this.#tracer.startSpan(`publish ${topic}`, { kind: SpanKind.PRODUCER, attributes }, parent);
    // A copy: the caller's message (and its headers object) stay as they were.
    const traced: OutgoingMessage = {
      ...message,
      headers: headersWithContext(message.headers, trace.setSpan(parent, span)),
    };
    try {
      const receipt = await this.inner.publish(topic, traced);
      span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, receipt.id);
      if (receipt.duplicate) span.setAttribute('switchboard.message.duplicate', true);
      span.end();
      return receipt;
    } catch (err) {
      endWithError(span, err);
      throw err;
    }
  }

  subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    if (typeof handler !== 'function') return this.inner.subscribe(topic, handler, options);
    const attributes: Attributes = {
      ...this.#messagingAttributes(topic),
      [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: options.group,
    };
    const traced: DeliveryHandler = (delivery) => this.#process(delivery, handler, attributes);
    return this.inner.subscribe(topic, traced, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async #process(delivery: Delivery, handler: DeliveryHandler, attributes: Attributes): Promise<void> {
    const parent = extractFromHeaders(delivery.headers);
    const span = this.#tracer.startSpan(
      `process ${delivery.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...attributes,
          [ATTR_MESSAGING_MESSAGE_ID]: delivery.id,
          [ATTR_DELIVERY_ATTEMPT]: delivery.attempt,
        },
      },
      parent,
    );
    const current = trace.setSpan(parent, span);
    const traced = new TracedDelivery(delivery, headersWithContext(delivery.headers, current), span);
    try {
      await context.with(current, () => handler(traced));
      traced.finish();
    } catch (err) {
      traced.fail(err);
      throw err;
    }
  }

  #messagingAttributes(topic: string): Attributes {
    return { [ATTR_MESSAGING_SYSTEM]: this.inner.kind, [ATTR_MESSAGING_DESTINATION_NAME]: topic };
  }
}

/**
 * The delivery as the handler sees it: the consumer span's trace context in its headers, and
 * settling it ends the span (the first of settling and the handler's end does).
 */
class TracedDelivery implements Delivery {
  readonly #inner: Delivery;
  readonly #span: Span;
  readonly headers: Readonly<Record<string, string>>;
  #ended = false;

  constructor(inner: Delivery, headers: Record<string, string>, span: Span) {
    this.#inner = inner;
    this.headers = headers;
    this.#span = span;
  }

  get topic(): string {
    return this.#inner.topic;
  }
  get id(): string {
    return this.#inner.id;
  }
  get key(): string | undefined {
    return this.#inner.key;
  }
  get payload(): Uint8Array {
    return this.#inner.payload;
  }
  get attempt(): number {
    return this.#inner.attempt;
  }

  ack(): Promise<void> {
    this.#end('ack');
    return this.#inner.ack();
  }

  nack(delayMs?: number): Promise<void> {
    // Not a failure by itself: the handler asks to see the message again later.
    this.#end('nack');
    return this.#inner.nack(delayMs);
  }

  term(reason?: string): Promise<void> {
    this.#end('term', reason ?? 'terminated');
    return this.#inner.term(reason);
  }

  /** The handler returned without settling: the broker acknowledges it. */
  finish(): void {
    this.#end('ack');
  }

  /** The handler threw: the broker retries the message (or dead-letters it). */
  fail(err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.setAttribute(ATTR_DELIVERY_OUTCOME, 'failed');
    endWithError(this.#span, err);
  }

  #end(outcome: 'ack' | 'nack' | 'term', error?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.setAttribute(ATTR_DELIVERY_OUTCOME, outcome);
    if (error !== undefined) this.#span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.#span.end();
  }
}

function endWithError(span: Span, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  // The EventBus throws a plain Error whose cause is the handler's StatusError: name the code.
  const status =
    err instanceof StatusError
      ? err
      : err instanceof Error && err.cause instanceof StatusError
        ? err.cause
        : undefined;
  span.setAttribute('error.type', status ? status.codeName : err instanceof Error ? err.name : typeof err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}
