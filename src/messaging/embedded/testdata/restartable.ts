/**
 * For tests: one LogBroker on a directory that can be restarted (closed and reopened), and
 * thin clients that forward to whichever instance is current, so a test's clients keep
 * working across the restart as clients of a restarted server do. A client's close() closes
 * only the subscriptions it made, as closing one client of a shared broker should.
 */
import type {
  Broker,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../../broker.ts';
import { LogBroker } from '../log-broker.ts';
import type { LogBrokerOptions } from '../options.ts';

export class RestartableLogBroker {
  #current: LogBroker;

  private constructor(
    readonly dir: string,
    readonly options: LogBrokerOptions,
    current: LogBroker,
  ) {
    this.#current = current;
  }

  static async open(dir: string, options: LogBrokerOptions = {}): Promise<RestartableLogBroker> {
    return new RestartableLogBroker(dir, options, await LogBroker.open(dir, options));
  }

  get current(): LogBroker {
    return this.#current;
  }

  client(): Broker {
    return new ForwardingClient(this);
  }

  async restart(): Promise<void> {
    await this.#current.close();
    this.#current = await LogBroker.open(this.dir, this.options);
  }

  close(): Promise<void> {
    return this.#current.close();
  }
}

class ForwardingClient implements Broker {
  readonly kind = 'embedded';
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;

  constructor(readonly owner: RestartableLogBroker) {}

  get capabilities() {
    return this.owner.current.capabilities;
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    if (this.#closed) throw new Error('client closed');
    return this.owner.current.publish(topic, message);
  }

  async subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    if (this.#closed) throw new Error('client closed');
    const inner = await this.owner.current.subscribe(topic, handler, options);
    const subscription: Subscription = {
      close: () => {
        this.#subscriptions.delete(subscription);
        return inner.close();
      },
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
  }
}
