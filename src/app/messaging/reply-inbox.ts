/**
 * The reply side of request/reply over a queue: one reply topic per client, subscribed once
 * on first use, and the requests waiting on it by correlation id. A request that times out
 * leaves nothing behind; a reply nobody waits for (unknown, or late) is dropped quietly.
 */
import type { MessageType } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { isStatus, Status } from '../../contract/status.ts';
import { MAX_TIMEOUT_MS } from '../../core/deadline.ts';
import type { Broker, Delivery, Subscription } from '../../messaging/broker.ts';
import { CORRELATION_ID_HEADER, STATUS_HEADER, STATUS_MESSAGE_HEADER } from './headers.ts';
import { readEnvelope } from './incoming.ts';
import { decodeData } from './payload.ts';

interface Pending {
  readonly output: MessageType;
  readonly resolve: (response: unknown) => void;
  readonly reject: (error: StatusError) => void;
  readonly cleanup: () => void;
}

export class ReplyInbox {
  readonly topic: string;
  readonly #broker: Broker;
  readonly #pending = new Map<string, Pending>();
  #subscription: Promise<Subscription> | undefined;
  #closed = false;

  constructor(broker: Broker, topic: string) {
    this.#broker = broker;
    this.topic = topic;
  }

  /** Requests waiting for their reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Subscribes to the reply topic, once; a failed attempt is tried again by the next request. */
  ready(): Promise<void> {
    if (this.#closed)
      return Promise.reject(new StatusError(Status.CANCELLED, 'the command client is closed'));
    this.#subscription ??= this.#broker
      .subscribe(this.topic, (d) => this.#receive(d), {
        group: this.topic,
        // A reply published between subscribing and the broker's first poll must not be missed.
        startAt: 'earliest',
        maxAttempts: 1,
        deadLetterTopic: false,
      })
      .catch((err: unknown) => {
        this.#subscription = undefined;
        throw StatusError.from(err, Status.UNAVAILABLE);
      });
    return this.#subscription.then(() => undefined);
  }

  /**
   * The reply to `correlationId`, decoded as `output`; DEADLINE_EXCEEDED at `deadline`,
   * CANCELLED when `signal` aborts. Register before publishing the request.
   */
  expect(
    correlationId: string,
    output: MessageType,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const fail = (error: StatusError) => {
        this.forget(correlationId);
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new StatusError(Status.DEADLINE_EXCEEDED, 'no reply before the deadline')),
        Math.min(MAX_TIMEOUT_MS, Math.max(0, deadline - Date.now())),
      );
      const onAbort = () => fail(StatusError.from(signal?.reason, Status.CANCELLED));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.#pending.set(correlationId, { output, resolve, reject, cleanup });
      if (signal?.aborted) onAbort();
    });
  }

  /** Stops waiting for `correlationId` without settling its promise (its request was never sent). */
  forget(correlationId: string): void {
    const pending = this.#pending.get(correlationId);
    if (!pending) return;
    this.#pending.delete(correlationId);
    pending.cleanup();
  }

  /** Fails every waiting request with CANCELLED and leaves the reply topic. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [id, pending] of [...this.#pending]) {
      this.forget(id);
      pending.reject(new StatusError(Status.CANCELLED, 'the command client was closed'));
    }
    const subscription = await this.#subscription?.catch(() => undefined);
    await subscription?.close();
  }

  #receive(delivery: Delivery): void {
    const id = headerOf(delivery, CORRELATION_ID_HEADER);
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending || id === undefined) return;
    this.forget(id);
    const code = Number(headerOf(delivery, STATUS_HEADER) ?? Number.NaN);
    if (!isStatus(code)) {
      pending.reject(new StatusError(Status.INTERNAL, 'malformed reply: no valid status header'));
    } else if (code !== Status.OK) {
      pending.reject(new StatusError(code, safeDecode(headerOf(delivery, STATUS_MESSAGE_HEADER) ?? '')));
    } else {
      try {
        const envelope = readEnvelope(delivery);
        pending.resolve(decodeData(pending.output, envelope.data, envelope.contentType));
      } catch (err) {
        // A reply that cannot be read is the responder's fault, whatever the decoder said.
        const reason = StatusError.from(err).message;
        pending.reject(new StatusError(Status.INTERNAL, `malformed reply: ${reason}`));
      }
    }
  }
}

function headerOf(delivery: Delivery, name: string): string | undefined {
  for (const [key, value] of Object.entries(delivery.headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function safeDecode(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}
