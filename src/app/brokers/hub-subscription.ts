import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { Client, Message } from '../../core/types.ts';
import { type BackoffOptions, backoffDelay } from '../../governance/backoff.ts';
import type { Delivery, DeliveryHandler, SubscribeOptions, Subscription } from '../../messaging/broker.ts';
import { MAX_TIMER_MS } from '../../messaging/validate.ts';
import { type BrokerMethods, Outcome } from '../../services/broker/contract.ts';
import { RequestStream } from './request-stream.ts';

/** Handlers started per turn of the event loop; their settles leave before the next chunk. */
const HANDLER_CHUNK = 32;

export interface HubSubscriptionSettings {
  /** How long close() lets running handlers finish. */
  drainTimeoutMs: number;
  /** How long the first join may take (the hub unreachable meanwhile) before subscribe rejects. */
  joinTimeoutMs: number;
  reconnect: BackoffOptions;
}

/**
 * One member of a consumer group on the hub, over one Consume stream. If the stream breaks
 * (the hub restarts, the network drops) it joins again with backoff and carries on from the
 * group's position on the hub: what was unsettled at the break is redelivered there.
 */
export class HubSubscription implements Subscription {
  readonly #client: Client<BrokerMethods>;
  readonly #topic: string;
  readonly #handler: DeliveryHandler;
  readonly #options: SubscribeOptions;
  readonly #settings: HubSubscriptionSettings;
  readonly #abort = new AbortController();
  readonly #running = new Set<Promise<void>>();
  readonly #queue: { delivery: Message; sink: SettleSink }[] = [];
  #pumping = false;
  #closing = false;
  #loop: Promise<void> | undefined;
  #current: SettleSink | undefined;

  constructor(
    client: Client<BrokerMethods>,
    topic: string,
    handler: DeliveryHandler,
    options: SubscribeOptions,
    settings: HubSubscriptionSettings,
  ) {
    this.#client = client;
    this.#topic = topic;
    this.#handler = handler;
    this.#options = options;
    this.#settings = settings;
  }

  /** Resolves once the hub has joined the member to its group; rejects if it never does. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const giveUp = Date.now() + this.#settings.joinTimeoutMs;
      let joined = false;
      const onJoined = () => {
        joined = true;
        resolve();
      };
      this.#loop = (async () => {
        for (let failures = 0; !this.#closing; ) {
          try {
            await this.#session(() => {
              failures = 0;
              onJoined();
            });
          } catch (err) {
            const status = StatusError.from(err);
            // A refusal (bad topic, bad options) will not change by trying again.
            if (status.code !== Status.UNAVAILABLE && status.code !== Status.CANCELLED && !joined) {
              reject(status);
              return;
            }
          }
          if (this.#closing) return;
          const wait = backoffDelay(failures++, this.#settings.reconnect);
          if (!joined && Date.now() + wait > giveUp) {
            reject(
              new Error(
                `could not join group ${this.#options.group} on topic ${this.#topic}: the hub broker did not answer within ${this.#settings.joinTimeoutMs} ms`,
              ),
            );
            return;
          }
          await new Promise((r) => setTimeout(r, wait));
        }
      })();
    });
  }

  async #session(onJoined: () => void): Promise<void> {
    const requests = new RequestStream<Message>();
    const sink = new SettleSink(requests);
    this.#current = sink;
    requests.push({ subscribe: wireSubscribe(this.#topic, this.#options) });
    const responses = this.#client.consume(requests, { deadline: Infinity, signal: this.#abort.signal });
    try {
      for await (const response of responses) {
        if (response.subscribed) onJoined();
        if (this.#closing) continue; // the hub nacks these when the member leaves
        for (const delivery of (response.deliveries ?? []) as Message[]) this.#queue.push({ delivery, sink });
        this.#pump();
      }
    } finally {
      requests.end();
    }
  }

  /**
   * Starts the queued deliveries' handlers a chunk at a time, flushing each chunk's settles
   * before the next: the hub then works on one chunk's acks while this process runs the next,
   * instead of both sides taking turns over the whole window.
   */
  #pump(): void {
    if (this.#pumping) return;
    if (this.#closing) {
      this.#queue.length = 0; // never started: the hub nacks them when the member leaves
      return;
    }
    this.#pumping = true;
    const chunk = this.#queue.splice(0, HANDLER_CHUNK);
    for (const { delivery, sink } of chunk) this.#run(delivery, sink);
    // Two hops: the settles of this chunk are written (the transport flushes from
    // setImmediate) before the next chunk starts.
    setImmediate(() =>
      setImmediate(() => {
        this.#pumping = false;
        if (this.#queue.length > 0) this.#pump();
      }),
    );
  }

  #run(wire: Message, sink: SettleSink): void {
    const delivery = new HubDelivery(wire, sink);
    const done = (async () => {
      try {
        await this.#handler(delivery);
        if (!delivery.settled) await delivery.ack();
      } catch (err) {
        if (!delivery.settled) delivery.fail(err);
      }
    })();
    this.#running.add(done);
    void done.finally(() => this.#running.delete(done));
  }

  /** Lets running handlers settle (bounded), then leaves the group. */
  async close(): Promise<void> {
    if (this.#closing) return this.#loop;
    this.#closing = true;
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise((r) => setTimeout(r, this.#settings.drainTimeoutMs).unref()),
    ]);
    this.#current?.end();
    const left = await Promise.race([
      this.#loop?.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), this.#settings.drainTimeoutMs).unref()),
    ]);
    if (!left) this.#abort.abort();
    await this.#loop;
  }
}

/**
 * Settles of one stream, sent together once per turn of the event loop: handlers finish over
 * many microtasks, and one request per turn carries all their settles.
 */
class SettleSink {
  readonly #requests: RequestStream<Message>;
  #settles: Message[] = [];

  constructor(requests: RequestStream<Message>) {
    this.#requests = requests;
  }

  push(settle: Message): void {
    if (this.#settles.length === 0) setImmediate(() => this.#flush());
    this.#settles.push(settle);
    if (this.#settles.length >= HANDLER_CHUNK) this.#flush();
  }

  #flush(): void {
    const settles = this.#settles;
    this.#settles = [];
    if (settles.length > 0) this.#requests.push({ settles });
  }

  end(): void {
    this.#flush();
    this.#requests.end();
  }
}

class HubDelivery implements Delivery {
  readonly topic: string;
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
  readonly attempt: number;
  readonly #handle: number;
  readonly #sink: SettleSink;
  settled = false;

  constructor(wire: Message, sink: SettleSink) {
    this.topic = String(wire.topic ?? '');
    this.id = String(wire.id ?? '');
    this.key = typeof wire.key === 'string' ? wire.key : undefined;
    this.headers = (wire.headers ?? {}) as Record<string, string>;
    this.payload = wire.payload instanceof Uint8Array ? wire.payload : new Uint8Array();
    this.attempt = Number(wire.attempt ?? 1);
    this.#handle = Number(wire.handle ?? 0);
    this.#sink = sink;
  }

  ack(): Promise<void> {
    return this.#settle(Outcome.ACK);
  }

  async nack(delayMs = 0): Promise<void> {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new TypeError('nack delayMs must be a finite number ≥ 0');
    }
    // The wire's delay is a uint32; the broker waits at most a timer's longest delay anyway.
    await this.#settle(Outcome.NACK, { delayMs: Math.min(Math.floor(delayMs), MAX_TIMER_MS) });
  }

  term(reason?: string): Promise<void> {
    return this.#settle(Outcome.TERM, { reason: reason ?? '' });
  }

  fail(err: unknown): void {
    void this.#settle(Outcome.FAIL, { reason: (err as Error)?.message || String(err) });
  }

  #settle(outcome: number, extra: Message = {}): Promise<void> {
    if (this.settled) return Promise.resolve();
    this.settled = true;
    this.#sink.push({ handle: this.#handle, outcome, ...extra });
    return Promise.resolve();
  }
}

function wireSubscribe(topic: string, o: SubscribeOptions): Message {
  return {
    topic,
    group: o.group,
    maxInFlight: o.maxInFlight ?? 0,
    startAt: o.startAt ?? '',
    maxAttempts: o.maxAttempts ?? 0,
    deadLetterTopic: typeof o.deadLetterTopic === 'string' ? o.deadLetterTopic : undefined,
    noDeadLetter: o.deadLetterTopic === false,
    ackTimeoutMs: o.ackTimeoutMs ?? 0,
  };
}
