/**
 * What every listener (HTTP, gRPC, native, the hub's) bounds the same way, so one client cannot
 * exhaust a process: how many connections are open at once, and how long a TLS handshake may
 * take. Limits particular to one protocol (streams, header blocks, frames) live with it.
 */
import type { Server } from 'node:net';

export interface ConnectionLimits {
  /**
   * Connections open at once; a connection arriving over it is closed at once (and a warning
   * says so, at most once a minute). 4096 unless set.
   */
  maxConnections?: number;
  /** A TLS handshake not finished within this closes its connection. 10 s unless set. */
  tlsHandshakeTimeoutMs?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 4096;
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
const WARN_EVERY_MS = 60_000;

/** `value` as a count of at least 1, or `fallback` when unset. */
export function countOption(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`${name} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

/** `value` as a duration in ms (0 allowed where the option says so), or `fallback` when unset. */
export function durationOption(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new TypeError(`${name} must be a number of ms from 0 to 2^31-1, got ${String(value)}`);
  }
  return value;
}

/** The TLS handshake timeout option, for tls/https/http2 createServer. */
export function handshakeTimeout(limits: ConnectionLimits): number {
  return durationOption(
    limits.tlsHandshakeTimeoutMs,
    DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
    'tlsHandshakeTimeoutMs',
  );
}

/**
 * Caps `server`'s open connections at `limits.maxConnections`: Node closes each one over the cap
 * as it arrives; `what` names the listener in the warning. Returns the cap.
 */
export function capConnections(server: Server, limits: ConnectionLimits, what: string): number {
  const max = countOption(limits.maxConnections, DEFAULT_MAX_CONNECTIONS, 'maxConnections');
  server.maxConnections = max;
  let warnedAt = Number.NEGATIVE_INFINITY;
  let dropped = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - warnedAt < WARN_EVERY_MS) return;
    warnedAt = now;
    process.emitWarning(
      `${what} is at its limit of ${max} open connections (maxConnections): ` +
        `closed ${dropped} new connection${dropped === 1 ? '' : 's'} at once`,
      { code: 'SWITCHBOARD_MAX_CONNECTIONS' },
    );
    dropped = 0;
  });
  return max;
}
