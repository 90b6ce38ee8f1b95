import { randomBytes } from 'node:crypto';

export interface KeepaliveHost {
  sendPing(data: Uint8Array): void;
  /** No frame arrived within the timeout after a PING. */
  keepaliveExpired(): void;
  /** We stopped reading the socket on purpose, so silence says nothing about the peer. */
  readonly notReading?: boolean;
}

/**
 * Pings a connection that received nothing for `intervalMs`, and declares it dead when nothing
 * (a PONG or any other frame) follows within `timeoutMs`. Traffic itself proves liveness, so a
 * busy connection never pings. One re-armed timer per connection, unref'd.
 */
export class Keepalive {
  readonly #host: KeepaliveHost;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #awaitingPong = false;
  /** Set by the connection on every received chunk; cheaper than re-arming a timer per chunk. */
  active = false;

  constructor(host: KeepaliveHost, intervalMs: number, timeoutMs: number) {
    this.#host = host;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
  }

  start(): void {
    if (this.#intervalMs <= 0 || !Number.isFinite(this.#intervalMs) || this.#timer) return;
    this.#arm(this.#intervalMs);
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), ms);
    this.#timer.unref();
  }

  #tick(): void {
    if (!this.#timer) return;
    if (this.active) {
      this.active = false;
      if (this.#awaitingPong) {
        this.#awaitingPong = false;
        this.#arm(this.#intervalMs);
      } else {
        this.#timer.refresh();
      }
      return;
    }
    if (this.#host.notReading) {
      // Still ping: a write to a peer that has gone fails and closes the socket, which a paused
      // read never would. But do not wait for a PONG that could not be read.
      this.#awaitingPong = false;
      this.#host.sendPing(randomBytes(8));
      this.#arm(this.#intervalMs);
      return;
    }
    if (this.#awaitingPong) {
      this.stop();
      this.#host.keepaliveExpired();
      return;
    }
    this.#awaitingPong = true;
    this.#host.sendPing(randomBytes(8));
    this.#arm(this.#timeoutMs);
  }
}
