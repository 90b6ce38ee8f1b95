/**
 * Guards on each HTTP/2 connection of the gRPC server against a client that follows the protocol
 * just enough to tie the process up: one that never finishes its HTTP/2 handshake (slowloris at
 * the connection level), and one that opens streams and resets them at once (HTTP/2 rapid
 * reset, CVE-2023-44487).
 */
import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';

export const DEFAULT_HTTP2_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Streams of one connection that may end reset (RST_STREAM) in a burst, and how many more it
 * earns each second; past them the connection is closed (GOAWAY ENHANCE_YOUR_CALM). The nghttp2
 * bundled with Node 20 has a limit of its own (1000 and 33 a second, which Node 20 cannot
 * set), but it only sends GOAWAY INTERNAL_ERROR, leaves the connection open and stops counting.
 * So this one trips first: half the burst at the same rate. A client cancelling calls, or
 * missing deadlines, now and then never comes near it.
 */
export const RESET_BURST = 500;
export const RESETS_PER_SECOND = 33;

const WARN_EVERY_MS = 60_000;
const kBudget = Symbol('resetBudget');

type GuardedSession = ServerHttp2Session & { [kBudget]?: ResetBudget };
type GuardedStream = ServerHttp2Stream & { [kBudget]?: ResetBudget };

/** The guards of one server: `what` names it in the warning a closed connection causes. */
export class SessionGuards {
  readonly #handshakeTimeoutMs: number;
  readonly #what: string;
  #warnedAt = Number.NEGATIVE_INFINITY;
  #closed = 0;

  constructor(handshakeTimeoutMs: number, what: string) {
    this.#handshakeTimeoutMs = handshakeTimeoutMs;
    this.#what = what;
  }

  /** Guards `session`, a connection of `peer` ("ip:port") that has just arrived. */
  watch(session: ServerHttp2Session, peer: string): void {
    this.#watchHandshake(session);
    const budget = new ResetBudget(session, () => this.#warn(peer));
    (session as GuardedSession)[kBudget] = budget;
    session.on('stream', watchStream);
  }

  /**
   * The client's connection preface and SETTINGS must arrive within the timeout (node:http2
   * emits 'remoteSettings' when they do); a connection that sends nothing, or half a preface,
   * would otherwise hold its socket until the idle timeout, minutes later.
   */
  #watchHandshake(session: ServerHttp2Session): void {
    const timeout = this.#handshakeTimeoutMs;
    if (timeout <= 0) return;
    const timer = setTimeout(() => session.destroy(), timeout).unref();
    const settled = () => clearTimeout(timer);
    session.once('remoteSettings', settled);
    session.once('close', settled);
  }

  #warn(peer: string): void {
    this.#closed++;
    const now = Date.now();
    if (now - this.#warnedAt < WARN_EVERY_MS) return;
    this.#warnedAt = now;
    process.emitWarning(
      `${this.#what} closed ${this.#closed} connection${this.#closed === 1 ? '' : 's'} resetting ` +
        `streams faster than ${RESETS_PER_SECOND} a second (HTTP/2 rapid reset), the last from ${peer}`,
      { code: 'SWITCHBOARD_HTTP2_RAPID_RESET' },
    );
    this.#closed = 0;
  }
}

/** A token bucket of the resets one connection may still make. */
class ResetBudget {
  readonly #session: ServerHttp2Session;
  readonly #onExhausted: () => void;
  #tokens = RESET_BURST;
  #at = Date.now();

  constructor(session: ServerHttp2Session, onExhausted: () => void) {
    this.#session = session;
    this.#onExhausted = onExhausted;
  }

  /** One more stream reset: past the budget, the connection is closed. */
  spend(): void {
    const session = this.#session;
    // Closing (shutting down, idle): it takes no new streams, and the server's own resets of
    // the calls left are no flood.
    if (session.closed || session.destroyed) return;
    const now = Date.now();
    this.#tokens = Math.min(RESET_BURST, this.#tokens + ((now - this.#at) / 1000) * RESETS_PER_SECOND);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens--;
      return;
    }
    // GOAWAY ENHANCE_YOUR_CALM, then the socket is closed: every stream of the connection
    // closes with it, which cancels the handlers they started.
    session.destroy(new Error('too many streams reset'), constants.NGHTTP2_ENHANCE_YOUR_CALM);
    this.#onExhausted();
  }
}

/** Shared listeners (no closure per stream): the stream carries its connection's budget. */
function watchStream(this: GuardedSession, stream: GuardedStream): void {
  stream[kBudget] = this[kBudget];
  stream.on('close', onStreamClose);
}

/**
 * A stream closed with an error code was reset by the client, or by the server for the
 * client's fault (it resets sound calls only when shutting down, with the connection closing),
 * or its connection is gone (then the budget no longer matters). Like nghttp2's, a reset counts
 * even after a complete answer: requests answered at once and reset are a flood all the same.
 */
function onStreamClose(this: GuardedStream): void {
  if (this.rstCode !== undefined && this.rstCode !== constants.NGHTTP2_NO_ERROR) this[kBudget]?.spend();
}
