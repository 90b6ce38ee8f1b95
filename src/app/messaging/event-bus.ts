/**
 * Typed events over any Broker. An event is a message of the contract, published to the topic
 * the contract binds it to (topics.ts), as a CloudEvent; subscribers get it decoded, with a
 * context carrying its trace and deadline. A message that cannot be read — malformed, of
 * another type, past its deadline — goes to the dead-letter topic with the reason, and a
 * failing handler is retried with backoff and then dead-lettered: neither blocks the others.
 */
import type { Contract } from '../../contract/contract.ts';
import type { MessageType } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { TopicBindings } from '../../contract/topics.ts';
import { currentCall } from '../../core/context.ts';
import type { Message, MessageInit } from '../../core/types.ts';
import type {
  Broker,
  Delivery,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../../messaging/broker.ts';
import { DeliveryContext, type EventContext } from './event-context.ts';
import { refuse, settleFailure } from './failure-policy.ts';
import { readEnvelope } from './incoming.ts';
import { buildMessage, type EnvelopeOptions, type ResolvedEnvelope, resolveEnvelope } from './outgoing.ts';
import { decodeData } from './payload.ts';
import { type PropagationParent, propagationHeaders } from './propagation.ts';

export interface EventBusOptions extends EnvelopeOptions {
  /** Topics of messages the contract binds to none: full name → topic. Others use their full name. */
  topics?: Readonly<Record<string, string>>;
  /**
   * Whether an event published on behalf of a call carries the call's deadline, so that it is
   * dead-lettered instead of handled once the deadline passed. Off unless true: an event is a
   * fact that outlives the request that caused it; a publish may still set `deadline`.
   */
  inheritDeadline?: boolean;
}

export interface PublishEventOptions {
  /** The message id and CloudEvents id; a second publish of one id is a duplicate. A UUID unless set. */
  id?: string;
  /** Events of one key are delivered in publish order. */
  key?: string;
  /** The CloudEvents subject: what in the source the event is about. */
  subject?: string;
  /** More headers; the CloudEvents, trace and deadline headers win over these. */
  headers?: Readonly<Record<string, string>>;
  /**
   * The call (or event) this event is published on behalf of: its trace context, and unless
   * `inheritDeadline` is false its deadline, go with the event. The call the current handler
   * serves unless set; `null` opts out.
   */
  parent?: PropagationParent | null;
  /** Absolute deadline in epoch ms; wins over the parent's. `Infinity`: none. */
  deadline?: number;
}

export type EventHandler<T> = (event: T, ctx: EventContext) => void | Promise<void>;

/** An event type: the contract's MessageType (typed with `bus.type<T>()`) or its full name. */
export type EventRef<T> = MessageType<T> | string;

export class EventBus {
  readonly #broker: Broker;
  readonly #contract: Contract;
  readonly #topics: TopicBindings;
  readonly #envelope: ResolvedEnvelope;
  readonly #inheritDeadline: boolean;

  constructor(broker: Broker, contract: Contract, options: EventBusOptions = {}) {
    this.#broker = broker;
    this.#contract = contract;
    this.#topics = new TopicBindings(contract, options.topics);
    this.#envelope = resolveEnvelope(options);
    this.#inheritDeadline = options.inheritDeadline === true;
  }

  /** The contract's message `fullName`, typed: `bus.type<HelloEvent>('greet.HelloEvent')`. */
  type<T = Message>(fullName: string): MessageType<T> {
    const type = this.#contract.message(fullName) as MessageType<T>;
    this.#topics.topic(type.fullName); // fails now, not at the first publish, on a bad binding
    return type;
  }

  /** The topic events of `event` are published to. */
  topicOf(event: EventRef<unknown>): string {
    return this.#topics.topic(typeof event === 'string' ? event : event.fullName);
  }

  /** Resolves once the broker has the event. */
  async publish<T = Message>(
    event: EventRef<T>,
    message: MessageInit<T>,
    options: PublishEventOptions = {},
  ): Promise<PublishReceipt> {
    const type = this.#resolve(event);
    const parent = options.parent === null ? undefined : (options.parent ?? currentCall());
    const deadline = options.deadline ?? (this.#inheritDeadline ? parent?.deadline : undefined);
    const outgoing = buildMessage(
      {
        ceType: type.fullName,
        messageType: type as MessageType,
        message,
        id: options.id,
        key: options.key,
        subject: options.subject,
        headers: { ...options.headers, ...propagationHeaders(parent, deadline) },
      },
      this.#envelope,
    );
    return this.#broker.publish(this.topicOf(type), outgoing);
  }

  /**
   * Handles every event of `event`'s topic in `options.group`. Returning acknowledges it;
   * throwing retries it or dead-letters it, by status (failure-policy.ts).
   */
  async subscribe<T = Message>(
    event: EventRef<T>,
    handler: EventHandler<T>,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const type = this.#resolve(event);
    return this.#broker.subscribe(this.topicOf(type), (d) => this.#deliver(d, type, handler), options);
  }

  async #deliver<T>(delivery: Delivery, type: MessageType<T>, handler: EventHandler<T>): Promise<void> {
    let event: T;
    let ctx: DeliveryContext;
    try {
      const envelope = readEnvelope(delivery);
      const ceType = envelope.attributes?.type;
      if (ceType !== undefined && ceType !== type.fullName) {
        throw new StatusError(
          Status.INVALID_ARGUMENT,
          `an event of type ${ceType} on topic ${delivery.topic}, where ${type.fullName} is expected`,
        );
      }
      event = decodeData(type, envelope.data, envelope.contentType);
      ctx = new DeliveryContext(delivery, envelope);
    } catch (err) {
      return refuse(delivery, err);
    }
    try {
      await handler(event, ctx);
    } catch (err) {
      await settleFailure(delivery, err);
    } finally {
      ctx.dispose();
    }
  }

  #resolve<T>(event: EventRef<T>): MessageType<T> {
    return typeof event === 'string' ? this.type<T>(event) : event;
  }
}
