import net from 'node:net';
import tls from 'node:tls';
import type { NativeClientTlsOptions } from './options.ts';

/**
 * Opens the client's socket: TCP with Nagle off, or TLS (verifying the server unless told not
 * to; the host name is the TLS server name unless it is an IP address). Returns the socket and
 * the event that says it is ready for the HELLO.
 */
export function dial(
  host: string,
  port: number,
  tlsOptions: NativeClientTlsOptions | undefined,
): { socket: net.Socket; readyEvent: 'connect' | 'secureConnect' } {
  if (!tlsOptions) return { socket: net.connect({ host, port, noDelay: true }), readyEvent: 'connect' };
  const socket = tls.connect({
    host,
    port,
    ca: tlsOptions.ca,
    cert: tlsOptions.cert,
    key: tlsOptions.key,
    servername: tlsOptions.servername ?? (net.isIP(host) ? undefined : host),
    rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
  });
  socket.setNoDelay(true);
  return { socket, readyEvent: 'secureConnect' };
}
