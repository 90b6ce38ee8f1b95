/**
 * A server and a client transport of each kind with TLS, for the tests that run the same
 * mutual-TLS case over gRPC, HTTP and native.
 */
import type { ServiceHost } from '../../src/core/host.ts';
import type { ClientTransport, ServerTransport } from '../../src/core/transport.ts';
import { GrpcClientTransport, GrpcServer } from '../../src/transports/grpc/index.ts';
import { HttpClientTransport, HttpServer } from '../../src/transports/http/index.ts';
import { NativeClientTransport, NativeServer } from '../../src/transports/native/index.ts';
import type { ServerTlsOptions } from '../../src/transports/tls/server-tls.ts';
import type { TlsFiles } from '../../src/transports/tls/tls-files.ts';

export type TransportKind = 'grpc' | 'http' | 'native';

export const TRANSPORT_KINDS: readonly TransportKind[] = ['grpc', 'http', 'native'];

/** A `kind` server of `host` with `tls`, on `port` (0: a free one). */
export function tlsServer(
  kind: TransportKind,
  host: ServiceHost,
  tls: ServerTlsOptions,
  port = 0,
): ServerTransport {
  if (kind === 'grpc') return new GrpcServer(host, { port, tls });
  if (kind === 'http') return new HttpServer(host, { port, tls });
  return new NativeServer(host, { port, tls });
}

/** A `kind` client transport to `target` with the TLS `files` (CA, and a certificate for mTLS). */
export function tlsClient(kind: TransportKind, target: string, files: TlsFiles): ClientTransport {
  if (kind === 'grpc') return new GrpcClientTransport({ target, tls: files, connectTimeoutMs: 3000 });
  if (kind === 'http') return new HttpClientTransport({ target, tls: files });
  return new NativeClientTransport({ target, tls: files, connectTimeoutMs: 3000 });
}
