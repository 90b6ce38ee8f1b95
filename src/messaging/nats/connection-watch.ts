/**
 * Follows a NATS connection's status so that a publish never goes into the client's reconnect
 * buffer: while the server is unreachable it waits for the reconnect within a bound, then fails
 * with a clear error. The client reconnects by itself; this only watches.
 */
import type { NatsConnection } from '@nats-io/transport-node';

export class NatsUnavailableError extends Error {
  readonly code = 'NATS_UNAVAILABLE';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NatsUnavailableError';
  }
}

/**
 * A failed publish (or stream set-up) as the caller should see it: the topic, the cause, and
 * NatsUnavailableError when the server did not answer.
 */
export function publishFailure(topic: string, error: unknown, maxPayload?: number): Error {
  let cause = error instanceof Error ? error.message : String(error);
  if (/max_payload/.test(cause)) cause += ` (the server takes ${maxPayload} bytes with headers)`;
  const text = `NATS publish to topic "${topic}" failed: ${cause}`;
  if (error instanceof Error && /timeout|disconnect|closed/i.test(`${error.name} ${error.message}`)) {
    const hint = 'no PubAck; it may still be stored: retry with its id';
    return new NatsUnavailableError(`${text} (${hint})`, { cause: error });
  }
  return new Error(text, { cause: error });
}

export class ConnectionWatch {
  #connected = true;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(readonly nc: NatsConnection) {
    void this.#follow();
    void nc.closed().then(() => {
      this.#closed = true;
      this.#set(false);
    });
  }

  get connected(): boolean {
    return this.#connected && !this.#closed;
  }

  /** Resolves at once when connected; else at the reconnect, or rejects after `ms`. */
  async connectedWithin(ms: number, what: string): Promise<void> {
    if (this.connected) return;
    if (!this.#closed) {
      let wake: () => void = () => {};
      const woken = new Promise<boolean>((resolve) => {
        wake = () => resolve(true);
        this.#waiters.add(wake);
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      });
      await Promise.race([woken, timedOut]);
      clearTimeout(timer);
      this.#waiters.delete(wake);
      if (this.connected) return;
    }
    const state = this.#closed ? 'the connection is closed' : `not reconnected within ${ms} ms`;
    throw new NatsUnavailableError(`NATS server unreachable: ${what} (${state})`);
  }

  async #follow(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect') this.#connected = false;
        else if (status.type === 'reconnect') this.#set(true);
      }
    } catch {
      // the iterator ends with the connection either way
    }
  }

  #set(connected: boolean): void {
    this.#connected = connected;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }
}
