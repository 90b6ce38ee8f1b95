import type { OutgoingMessage, PublishReceipt } from '../../messaging/broker.ts';

/**
 * What a batch is sent with: per message, in order, its receipt or why it was refused; a
 * rejection fails the whole batch.
 */
export type SendBatch = (
  topic: string,
  messages: readonly OutgoingMessage[],
) => Promise<(PublishReceipt | Error)[]>;

interface Waiting {
  resolve(receipt: PublishReceipt): void;
  reject(err: unknown): void;
}

interface Batch {
  messages: OutgoingMessage[];
  waiting: Waiting[];
  bytes: number;
}

export interface PublishBatcherOptions {
  /** A batch closes at this many payload bytes (a bigger message travels alone). 1 MiB unless set. */
  maxBatchBytes?: number;
  /** …or at this many messages. 256 unless set. */
  maxBatchMessages?: number;
}

/**
 * Gathers the publishes of one event-loop turn into one request per topic: concurrent
 * publishers pay one round trip and one group commit between them instead of one each, and a
 * lone publish waits no longer than a microtask for company.
 */
export class PublishBatcher {
  readonly #send: SendBatch;
  readonly #maxBytes: number;
  readonly #maxMessages: number;
  #open = new Map<string, Batch>();
  #scheduled = false;

  constructor(send: SendBatch, options: PublishBatcherOptions = {}) {
    this.#send = send;
    this.#maxBytes = options.maxBatchBytes ?? 1 << 20;
    this.#maxMessages = options.maxBatchMessages ?? 256;
  }

  add(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    return new Promise((resolve, reject) => {
      let batch = this.#open.get(topic);
      if (
        batch &&
        (batch.bytes + message.payload.length > this.#maxBytes || batch.messages.length >= this.#maxMessages)
      ) {
        this.#open.delete(topic);
        this.#dispatch(topic, batch);
        batch = undefined;
      }
      if (!batch) {
        batch = { messages: [], waiting: [], bytes: 0 };
        this.#open.set(topic, batch);
      }
      batch.messages.push(message);
      batch.waiting.push({ resolve, reject });
      batch.bytes += message.payload.length;
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const open = this.#open;
    this.#open = new Map();
    for (const [topic, batch] of open) this.#dispatch(topic, batch);
  }

  #dispatch(topic: string, batch: Batch): void {
    this.#send(topic, batch.messages).then(
      (receipts) => {
        batch.waiting.forEach((w, i) => {
          const receipt = receipts[i];
          if (receipt instanceof Error) w.reject(receipt);
          else if (receipt) w.resolve(receipt);
          else w.reject(new Error(`the broker sent no receipt for message ${batch.messages[i]?.id}`));
        });
      },
      (err) => {
        for (const w of batch.waiting) w.reject(err);
      },
    );
  }
}
