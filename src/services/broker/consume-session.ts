import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { Message } from '../../core/types.ts';
import type { Broker, Delivery, SubscribeOptions, Subscription } from '../../messaging/broker.ts';
import { readOnlyPayload } from '../../messaging/memory/delivery.ts';
import { Outcome } from './contract.ts';

interface Pending {
  delivery: Delivery;
  resolve(): void;
  reject(err: Error): void;
}

const HANDLE_LIMIT = 0xffff_ffff;

/**
 * One Consume stream: one member of a consumer group, joined on the member's behalf. Each
 * delivery waits here, under a handle, until the member settles it; the broker's own
 * maxInFlight bounds how many wait, so the outbox needs no bound of its own. When the stream
 * ends or breaks, what is unsettled is nacked at once, so another member gets it without
 * waiting for an ack timeout.
 */
export class ConsumeSession {
  readonly #broker: Broker;
  readonly #signal: AbortSignal;
  readonly #pending = new Map<number, Pending>();
  #subscription: Subscription | undefined;
  #nextHandle = 1;
  #outbox: Message[] = [];
  #announce = false;
  #done = false;
  #leaving = false;
  #failure: StatusError | undefined;
  #wake: (() => void) | undefined;

  constructor(broker: Broker, signal: AbortSignal) {
    this.#broker = broker;
    this.#signal = signal;
  }

  async *run(requests: AsyncIterable<Message>): AsyncIterable<Message> {
    const reading = this.#read(requests);
    const onAbort = () => this.#finish();
    this.#signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (this.#announce || this.#outbox.length > 0) {
          const response: Message = { subscribed: this.#announce, deliveries: this.#outbox };
          this.#announce = false;
          this.#outbox = [];
          yield response;
          continue;
        }
        if (this.#done) break;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
      if (this.#failure) throw this.#failure;
    } finally {
      this.#signal.removeEventListener('abort', onAbort);
      this.#finish();
      await this.#leave();
      await reading;
    }
  }

  async #read(requests: AsyncIterable<Message>): Promise<void> {
    try {
      for await (const request of requests) {
        const subscribe = request.subscribe as Message | null | undefined;
        if (subscribe) await this.#join(subscribe);
        else if (!this.#subscription)
          throw new StatusError(Status.INVALID_ARGUMENT, 'the first request must subscribe');
        for (const settle of (request.settles ?? []) as Message[]) this.#settle(settle);
        if (this.#done) return;
      }
    } catch (err) {
      this.#failure ??= StatusError.from(err, Status.INVALID_ARGUMENT);
    }
    this.#finish();
  }

  async #join(subscribe: Message): Promise<void> {
    if (this.#subscription)
      throw new StatusError(Status.FAILED_PRECONDITION, 'this stream has already subscribed');
    const topic = String(subscribe.topic ?? '');
    let subscription: Subscription;
    try {
      subscription = await this.#broker.subscribe(
        topic,
        (d) => this.#deliver(d),
        subscribeOptions(subscribe),
      );
    } catch (err) {
      // Options the broker refuses (TypeError, RangeError) are the caller's; the rest the broker's.
      const invalid = err instanceof TypeError || err instanceof RangeError;
      const code = invalid ? Status.INVALID_ARGUMENT : Status.UNAVAILABLE;
      throw StatusError.from(err, code);
    }
    this.#subscription = subscription;
    if (this.#done) return;
    this.#announce = true;
    this.#wakeUp();
  }

  #deliver(d: Delivery): Promise<void> {
    if (this.#leaving) return d.nack(0);
    return new Promise<void>((resolve, reject) => {
      const handle = this.#nextHandle;
      this.#nextHandle = handle === HANDLE_LIMIT ? 1 : handle + 1;
      this.#pending.set(handle, { delivery: d, resolve, reject });
      this.#outbox.push({
        handle,
        topic: d.topic,
        id: d.id,
        key: d.key,
        headers: d.headers,
        payload: readOnlyPayload(d), // copied by the encoder, never written
        attempt: d.attempt,
      });
      this.#wakeUp();
    });
  }

  #settle(settle: Message): void {
    const handle = Number(settle.handle ?? 0);
    const pending = this.#pending.get(handle);
    if (!pending) return; // settled already, or redelivered after an ack timeout: ignore
    this.#pending.delete(handle);
    const { delivery, resolve, reject } = pending;
    const reason = String(settle.reason ?? '');
    switch (settle.outcome) {
      case Outcome.ACK:
        delivery.ack().then(resolve, resolve);
        return;
      case Outcome.NACK:
        delivery.nack(Number(settle.delayMs ?? 0)).then(resolve, resolve);
        return;
      case Outcome.TERM:
        delivery.term(reason || undefined).then(resolve, resolve);
        return;
      default:
        reject(new Error(reason || 'the handler failed'));
    }
  }

  #finish(): void {
    this.#done = true;
    this.#wakeUp();
  }

  /**
   * Wakes the writer after the current turn of the event loop, not at once: the broker hands
   * out deliveries over many microtasks, and one response carrying all of them costs one
   * encode and one frame instead of one per delivery.
   */
  #wakeUp(): void {
    const wake = this.#wake;
    if (!wake) return;
    this.#wake = undefined;
    setImmediate(wake);
  }

  /** Hands back what the member did not settle, then leaves the group. */
  async #leave(): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    // Closing first stops new deliveries, so what is nacked goes to another member, not back here.
    const closing = this.#subscription?.close();
    const unsettled = [...this.#pending.values()];
    this.#pending.clear();
    await Promise.all(unsettled.map((p) => p.delivery.nack(0).then(p.resolve, p.resolve)));
    await closing;
  }
}

function subscribeOptions(s: Message): SubscribeOptions {
  const positive = (value: unknown) => (typeof value === 'number' && value > 0 ? value : undefined);
  const startAt = s.startAt === 'earliest' || s.startAt === 'latest' ? s.startAt : undefined;
  if (s.startAt && !startAt)
    throw new StatusError(Status.INVALID_ARGUMENT, 'start_at must be "earliest" or "latest"');
  const deadLetterTopic = s.noDeadLetter
    ? false
    : typeof s.deadLetterTopic === 'string'
      ? s.deadLetterTopic
      : undefined;
  return {
    group: String(s.group ?? ''),
    maxInFlight: positive(s.maxInFlight),
    startAt,
    maxAttempts: positive(s.maxAttempts),
    deadLetterTopic,
    ackTimeoutMs: positive(s.ackTimeoutMs),
  };
}
