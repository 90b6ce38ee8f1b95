/**
 * The in-process reference broker: what the other adapters are compared to, and what tests use
 * when they need no real broker. Nothing survives the process (capabilities.persistence false).
 *
 * Dead letters go to `<topic>.dlq` unless `deadLetterTopic` says otherwise, with the original
 * headers plus `x-death-reason`, `x-death-attempts`, `x-death-topic` and `x-death-group`.
 */
import type {
  Broker,
  BrokerCapabilities,
  BrokerStats,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../broker.ts';
import { resolveSubscribeOptions, validateMessage, validateName } from '../validate.ts';
import { GroupMember } from './consumer-group.ts';
import { MemoryBrokerState } from './state.ts';
import { memoryStats } from './stats.ts';

export interface MemoryBrokerOptions {
  /** Shared by several clients, as processes share one broker. A new one unless set. */
  state?: MemoryBrokerState;
  /** How long closing waits for running handlers before their messages go to other members. 5 s. */
  drainTimeoutMs?: number;
  /** The first retry delay after a handler throws; it doubles per attempt up to 30 s. 100 ms. */
  retryBackoffMs?: number;
}

const CAPABILITIES: BrokerCapabilities = Object.freeze({
  orderingPerKey: true,
  persistence: false,
  consumerGroups: true,
  replay: true,
  delayedRedelivery: true,
  dedupe: true,
});

export class MemoryBroker implements Broker {
  readonly kind = 'memory';
  readonly capabilities = CAPABILITIES;
  readonly #state: MemoryBrokerState;
  readonly #drainTimeoutMs: number;
  readonly #retryBackoffMs: number;
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    this.#state = options.state ?? new MemoryBrokerState();
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 5000;
    this.#retryBackoffMs = options.retryBackoffMs ?? 100;
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    validateName('topic', topic);
    const valid = validateMessage(message);
    this.#assertOpen();
    return this.#state.topic(topic).append(valid);
  }

  async subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    validateName('topic', topic);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const resolved = resolveSubscribeOptions(options);
    this.#assertOpen();
    const backoff = (attempt: number) => Math.min(30_000, this.#retryBackoffMs * 2 ** (attempt - 1));
    const member = new GroupMember(handler, resolved, backoff);
    const group = this.#state.topic(topic).group(resolved.group, resolved.startAt);
    let closing: Promise<void> | undefined;
    const subscription: Subscription = {
      close: () => {
        closing ??= group.leave(member, this.#drainTimeoutMs).finally(() => {
          this.#subscriptions.delete(subscription);
        });
        return closing;
      },
    };
    this.#subscriptions.add(subscription);
    group.join(member);
    return subscription;
  }

  /** Every topic of the state this client shares, closed or not: the broker, not the client. */
  async stats(): Promise<BrokerStats> {
    return memoryStats(this.#state);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`${this.kind} broker client is closed`);
  }
}
