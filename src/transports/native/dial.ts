import net from 'node:net';
import tls from 'node:tls';
import { type ClientTlsMaterial, clientTlsMaterial } from '../tls/client-tls.ts';
import type { NativeClientTlsOptions } from './options.ts';

/** The material of each client's TLS options: files are read once, then again when they change. */
const materials = new WeakMap<NativeClientTlsOptions, () => ClientTlsMaterial>();

/** Reads TLS files (throwing when unusable) ahead of the first connection: for the constructor. */
export function tlsMaterialOf(options: NativeClientTlsOptions): () => ClientTlsMaterial {
  let material = materials.get(options);
  if (!material) {
    material = clientTlsMaterial(options);
    materials.set(options, material);
  }
  return material;
}

/**
 * Opens the client's socket: TCP with Nagle off, or TLS (verifying the server unless told not
 * to; the host name is the TLS server name unless it is an IP address). Returns the socket and
 * the event that says it is ready for the HELLO. Each new connection takes the TLS files'
 * current material, so rotated certificates are used without a new transport.
 */
export function dial(
  host: string,
  port: number,
  tlsOptions: NativeClientTlsOptions | undefined,
): { socket: net.Socket; readyEvent: 'connect' | 'secureConnect' } {
  if (!tlsOptions) return { socket: net.connect({ host, port, noDelay: true }), readyEvent: 'connect' };
  const { ca, cert, key } = tlsMaterialOf(tlsOptions)();
  const socket = tls.connect({
    host,
    port,
    ca,
    cert,
    key,
    servername: tlsOptions.servername ?? (net.isIP(host) ? undefined : host),
    rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
  });
  socket.setNoDelay(true);
  return { socket, readyEvent: 'secureConnect' };
}
