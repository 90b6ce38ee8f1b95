import { randomUUID } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { createClient } from '../../core/client.ts';
import type { ClientTransport } from '../../core/transport.ts';
import type { Client, Message } from '../../core/types.ts';
import { type BackoffOptions, backoffDelay } from '../../governance/backoff.ts';
import type {
  Broker,
  BrokerCapabilities,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../../messaging/broker.ts';
import { resolveSubscribeOptions, validateMessage, validateName } from '../../messaging/validate.ts';
import { type BrokerMethods, brokerService } from '../../services/broker/contract.ts';
import { clientTlsMaterial } from '../../transports/tls/client-tls.ts';
import { clientTransport, type TlsClientOptions } from '../connect.ts';
import { HubSubscription } from './hub-subscription.ts';
import { PublishBatcher, type PublishBatcherOptions } from './publish-batcher.ts';

export interface HubBrokerOptions extends PublishBatcherOptions {
  /** The hub's broker port: "host:port" (native), or native://, natives://, grpc://, grpcs://. */
  target: string;
  tls?: TlsClientOptions | boolean;
  /**
   * How long a publish may wait for an unreachable hub (retrying with backoff) before it
   * rejects; also how long subscribe() waits to join. 10 s unless set.
   */
  publishTimeoutMs?: number;
  /** Publishes waiting at once, beyond which publish() rejects at once. 10 000 unless set. */
  maxBufferedPublishes?: number;
  /** How long closing a subscription lets its running handlers finish. 5 s unless set. */
  drainTimeoutMs?: number;
  /** Backoff between attempts to reach the hub. 50 ms doubling to 2 s unless set. */
  reconnect?: BackoffOptions;
  /**
   * Sent as `authorization: Bearer <token>` on every call (and to the hub's HTTP port by
   * fromHub) when the hub has an access policy. `$SWITCHBOARD_TOKEN` unless set.
   */
  token?: string;
  /** What the hub's broker guarantees: the embedded log's (everything) unless set. */
  capabilities?: BrokerCapabilities;
}

/** The hub's route that says where its broker listens (hub/server.ts serves it). */
const HUB_BROKER_INFO_PATH = '/api/v1/broker';

function brokerToken(options: { token?: string }): string | undefined {
  return options.token ?? (process.env.SWITCHBOARD_TOKEN || undefined);
}

/** fetch, over the given TLS (the hub's CA, a client certificate) when the hub speaks HTTPS. */
async function fetchWithTls(
  url: URL,
  tls: TlsClientOptions | boolean | undefined,
  init: { headers: Record<string, string>; signal: AbortSignal },
): Promise<{ status: number; ok: boolean; json(): Promise<unknown> }> {
  if (url.protocol !== 'https:' || typeof tls !== 'object') return fetch(url, init);
  const { ca, cert, key } = clientTlsMaterial(tls)();
  const dispatcher = new Agent({ connect: { ca, cert, key, servername: tls.servername } });
  try {
    const response = await undiciFetch(url, { ...init, dispatcher });
    // Read before the dispatcher closes under the body.
    const body: unknown = response.ok ? await response.json() : undefined;
    return { status: response.status, ok: response.ok, json: async () => body };
  } finally {
    void dispatcher.close();
  }
}

const EMBEDDED_CAPABILITIES: BrokerCapabilities = {
  orderingPerKey: true,
  persistence: true,
  consumerGroups: true,
  replay: true,
  delayedRedelivery: true,
  dedupe: true,
};

/**
 * The Broker of a Switchboard hub, reached over its broker port (switchboard.broker.v1.Broker,
 * native transport unless the target says otherwise). Publishes of one event-loop turn travel
 * as one request per topic; ids are chosen here, so a publish retried after a lost answer is
 * recognised by the hub as a duplicate instead of stored twice.
 */
export class HubBroker implements Broker {
  readonly kind = 'hub';
  readonly capabilities: BrokerCapabilities;
  readonly #options: HubBrokerOptions;
  readonly #transport: ClientTransport;
  readonly #client: Client<BrokerMethods>;
  readonly #batcher: PublishBatcher;
  readonly #subscriptions = new Set<HubSubscription>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: HubBrokerOptions) {
    this.#options = options;
    this.capabilities = options.capabilities ?? EMBEDDED_CAPABILITIES;
    this.#transport = clientTransport({
      target: options.target,
      transport: 'native',
      tls: options.tls,
      maxMessageBytes: 64 << 20,
    });
    const token = brokerToken(options);
    this.#client = createClient<BrokerMethods>(
      brokerService(),
      this.#transport,
      token ? { metadata: { authorization: `Bearer ${token}` } } : {},
    );
    this.#batcher = new PublishBatcher((topic, messages) => this.#send(topic, messages), options);
  }

  /**
   * The broker of the hub at `hubUrl` (its HTTP address, e.g. http://127.0.0.1:7070): asks the
   * hub for its broker port and capabilities, and reaches that port on the hub URL's host.
   */
  static async fromHub(hubUrl: string, options: Omit<HubBrokerOptions, 'target'> = {}): Promise<HubBroker> {
    const base = new URL(hubUrl);
    let info: { target?: unknown; capabilities?: BrokerCapabilities };
    try {
      const token = brokerToken(options);
      const response = await fetchWithTls(new URL(HUB_BROKER_INFO_PATH, base), options.tls, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(options.publishTimeoutMs ?? 10_000),
      });
      if (response.status === 404) throw new Error('it serves no broker');
      if (!response.ok) throw new Error(`it answered ${response.status}`);
      info = (await response.json()) as typeof info;
    } catch (err) {
      throw new Error(`cannot reach the broker of the hub at ${hubUrl}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const port = typeof info.target === 'string' ? /:(\d+)$/.exec(info.target)?.[1] : undefined;
    if (!port) throw new Error(`the hub at ${hubUrl} did not say where its broker listens`);
    const host = base.hostname.includes(':') ? `[${base.hostname.replace(/^\[|\]$/g, '')}]` : base.hostname;
    return new HubBroker({ capabilities: info.capabilities, ...options, target: `${host}:${port}` });
  }

  publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    try {
      if (this.#closed) throw new Error('the hub broker client is closed');
      validateName('topic', topic);
      const checked = validateMessage(message);
      checked.id ??= randomUUID();
      const limit = this.#options.maxBufferedPublishes ?? 10_000;
      if (this.#inFlight.size >= limit) {
        throw new Error(
          `${limit} publishes are already waiting for the hub broker at ${this.#options.target}`,
        );
      }
      const pending = this.#batcher.add(topic, checked);
      this.#inFlight.add(pending);
      const forget = () => this.#inFlight.delete(pending);
      pending.then(forget, forget);
      return pending;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    if (this.#closed) throw new Error('the hub broker client is closed');
    validateName('topic', topic);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    resolveSubscribeOptions(options);
    const subscription = new HubSubscription(this.#client, topic, handler, options, {
      drainTimeoutMs: this.#options.drainTimeoutMs ?? 5_000,
      joinTimeoutMs: this.#options.publishTimeoutMs ?? 10_000,
      reconnect: this.#reconnect(),
    });
    this.#subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (err) {
      this.#subscriptions.delete(subscription);
      await subscription.close();
      throw err;
    }
    const close = subscription.close.bind(subscription);
    return {
      close: async () => {
        this.#subscriptions.delete(subscription);
        await close();
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    this.#subscriptions.clear();
    await Promise.allSettled([...this.#inFlight]);
    await this.#transport.close();
  }

  #reconnect(): BackoffOptions {
    return this.#options.reconnect ?? { baseMs: 50, maxMs: 2_000 };
  }

  /** One batch, retried while the hub is unreachable, until publishTimeoutMs. */
  async #send(topic: string, messages: readonly OutgoingMessage[]): Promise<(PublishReceipt | Error)[]> {
    const timeoutMs = this.#options.publishTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const request = { topic, messages: messages.map(wireMessage) };
    let unreachable: StatusError | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.#client.publish(request, { deadline });
        return ((response.receipts ?? []) as Message[]).map(receipt);
      } catch (err) {
        let status = StatusError.from(err);
        // The deadline passing while the hub is away: why it was away says more.
        if (status.code === Status.DEADLINE_EXCEEDED && unreachable) status = unreachable;
        if (status.code === Status.UNAVAILABLE) unreachable = status;
        const wait = backoffDelay(attempt, this.#reconnect());
        if (status !== unreachable || status.code !== Status.UNAVAILABLE || Date.now() + wait >= deadline) {
          throw new Error(
            `publish to ${topic} via the hub broker at ${this.#options.target} failed: ${status.message}`,
            {
              cause: status,
            },
          );
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}

function wireMessage(m: OutgoingMessage): Message {
  return { id: m.id, key: m.key, headers: m.headers, payload: m.payload };
}

function receipt(wire: Message): PublishReceipt | Error {
  if (wire.error) return new Error(String(wire.error));
  const position = String(wire.position ?? '');
  return { id: String(wire.id ?? ''), position: position || undefined, duplicate: Boolean(wire.duplicate) };
}
