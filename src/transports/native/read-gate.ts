import type { Socket } from 'node:net';

/** Why a server stopped reading a connection; several may hold at once. */
export const ReadPause = {
  /** Over 8 MiB of answers queued that the peer does not read (see SocketWriter). */
  UNREAD_ANSWERS: 1,
  /** Over `maxConnectionBufferBytes` of requests held for handlers (see RequestBuffer). */
  HELD_REQUESTS: 2,
} as const;

/**
 * Pauses reading a socket for any number of reasons, and resumes only once none holds: each
 * reason alone would otherwise resume a socket another one still needs paused.
 */
export class ReadGate {
  readonly #socket: Socket;
  #reasons = 0;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Whether reading is paused, for any reason. */
  get paused(): boolean {
    return this.#reasons !== 0;
  }

  /** Whether reading is paused for `reason`. */
  pausedFor(reason: number): boolean {
    return (this.#reasons & reason) !== 0;
  }

  pause(reason: number): void {
    if (this.#reasons === 0) this.#socket.pause();
    this.#reasons |= reason;
  }

  resume(reason: number): void {
    if ((this.#reasons & reason) === 0) return;
    this.#reasons &= ~reason;
    if (this.#reasons === 0) this.#socket.resume();
  }
}
