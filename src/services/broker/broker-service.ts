import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { CallContext } from '../../core/context.ts';
import type { ServiceHost } from '../../core/host.ts';
import type { Message } from '../../core/types.ts';
import type { Broker, OutgoingMessage } from '../../messaging/broker.ts';
import { ConsumeSession } from './consume-session.ts';
import { type BrokerMethods, brokerService, MAX_PUBLISH_BATCH } from './contract.ts';

/** Checks a call's right to publish to or consume a topic; throws a StatusError to refuse. */
export type BrokerAuthorizer = (ctx: CallContext, action: 'publish' | 'subscribe', topic: string) => void;

/**
 * Serves a Broker as switchboard.broker.v1.Broker on every transport of a host: how the hub
 * offers its embedded broker to services (HubBroker is the client). Each published message
 * succeeds or fails on its own, so one bad message in a batch never fails its neighbours.
 */
export class BrokerService {
  readonly #broker: Broker;
  readonly #sessions = new Set<ConsumeSession>();
  readonly #authorize: BrokerAuthorizer | undefined;

  constructor(broker: Broker, options: { authorize?: BrokerAuthorizer } = {}) {
    this.#broker = broker;
    this.#authorize = options.authorize;
  }

  addTo(host: ServiceHost): this {
    host.add<BrokerMethods>(brokerService(), {
      publish: (req: Message, ctx: CallContext) => this.#publish(req, ctx),
      consume: (requests: AsyncIterable<Message>, ctx: CallContext) => this.#consume(requests, ctx),
    });
    return this;
  }

  /** Members currently joined through this service. */
  get sessions(): number {
    return this.#sessions.size;
  }

  async #publish(req: Message, ctx: CallContext): Promise<Message> {
    const topic = String(req.topic ?? '');
    this.#authorize?.(ctx, 'publish', topic);
    const messages = (req.messages ?? []) as Message[];
    if (messages.length > MAX_PUBLISH_BATCH) {
      throw new StatusError(
        Status.INVALID_ARGUMENT,
        `a publish carries at most ${MAX_PUBLISH_BATCH} messages`,
      );
    }
    const receipts = await Promise.all(
      messages.map(async (m) => {
        try {
          const receipt = await this.#broker.publish(topic, outgoing(m));
          return { id: receipt.id, position: receipt.position ?? '', duplicate: receipt.duplicate };
        } catch (err) {
          return { id: String(m.id ?? ''), error: (err as Error).message || String(err) };
        }
      }),
    );
    return { receipts };
  }

  async *#consume(requests: AsyncIterable<Message>, ctx: CallContext): AsyncIterable<Message> {
    const session = new ConsumeSession(this.#broker, ctx.signal);
    this.#sessions.add(session);
    try {
      yield* session.run(this.#authorize ? this.#checked(requests, ctx, this.#authorize) : requests);
    } finally {
      this.#sessions.delete(session);
    }
  }

  /** The requests, each subscribe checked before the session sees it. */
  async *#checked(
    requests: AsyncIterable<Message>,
    ctx: CallContext,
    authorize: BrokerAuthorizer,
  ): AsyncIterable<Message> {
    for await (const request of requests) {
      const subscribe = request.subscribe as Message | null | undefined;
      if (subscribe) authorize(ctx, 'subscribe', String(subscribe.topic ?? ''));
      yield request;
    }
  }
}

/** A wire message as the Broker interface takes it; empty id and absent key mean "none". */
function outgoing(m: Message): OutgoingMessage {
  const id = typeof m.id === 'string' && m.id !== '' ? m.id : undefined;
  // proto3 `optional`: protobufjs leaves an unset key undefined or null.
  const key = typeof m.key === 'string' ? m.key : undefined;
  const headers = (m.headers ?? {}) as Record<string, string>;
  const payload = m.payload instanceof Uint8Array ? m.payload : new Uint8Array();
  return { id, key, headers, payload };
}
