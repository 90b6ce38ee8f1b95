import type { SecureContextOptions } from 'node:tls';
import {
  hasTlsFiles,
  readTlsFiles,
  type TlsFiles,
  type TlsMaterial,
  validateTlsMaterial,
  warn,
} from './tls-files.ts';
import { watchTlsFiles } from './watch-tls-files.ts';

/**
 * A server's TLS, the same on every transport: the certificate and key (inline or as files),
 * and for mutual TLS the CA that client certificates must chain to.
 */
export interface ServerTlsOptions extends TlsFiles {
  cert?: string | Buffer;
  key?: string | Buffer;
  /** CA(s) that client certificates must chain to: mutual TLS. */
  ca?: string | Buffer;
  /**
   * Refuse clients without a valid certificate: true unless set when a CA is given. With false
   * and a CA, certificates are asked for and verified, and only verified ones give an identity.
   */
  requireClientCert?: boolean;
  /** Trouble with watched files (an unusable new certificate): a process warning unless set. */
  onError?: (err: Error) => void;
}

/** What node:tls, node:https and node:http2 secure servers take at creation. */
export interface SecureServerOptions extends SecureContextOptions {
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/** A server that can swap its certificate for new connections (tls, https and http2 servers). */
export interface SecureContextHolder {
  setSecureContext(options: SecureContextOptions): void;
}

/** Resolved server TLS: options for the server, and a watch that rotates files. */
export interface ServerTls {
  readonly options: SecureServerOptions;
  /** With files, watches them and gives the server each new valid context; returns the stop. */
  watch(server: SecureContextHolder): () => void;
}

/**
 * Reads and checks the server's TLS options (files are read now: an unusable file fails the
 * server's listen). Inline values and files may be mixed: a file wins over the inline value.
 */
export function serverTls(options: ServerTlsOptions): ServerTls {
  const usesFiles = hasTlsFiles(options);
  const files: TlsFiles = { certFile: options.certFile, keyFile: options.keyFile, caFile: options.caFile };
  const inline: TlsMaterial = {
    cert: buffer(options.cert),
    key: buffer(options.key),
    ca: buffer(options.ca),
  };
  let material = inline;
  let stop: (() => void) | undefined;
  const onError = options.onError ?? warn;
  const merge = (read: TlsMaterial): TlsMaterial => ({
    cert: read.cert ?? inline.cert,
    key: read.key ?? inline.key,
    ca: read.ca ?? inline.ca,
  });
  if (usesFiles) {
    // Read now, so a bad file fails listen() rather than a later watch.
    material = merge(readTlsFiles(files));
  }
  validateTlsMaterial(material);
  if (!material.cert || !material.key) throw new Error('server TLS needs a certificate and a key');
  const hasCa = material.ca !== undefined;
  const require = options.requireClientCert ?? hasCa;
  return {
    options: {
      cert: material.cert,
      key: material.key,
      ca: material.ca,
      requestCert: hasCa || require,
      rejectUnauthorized: require,
    },
    watch(server) {
      if (!usesFiles) return () => {};
      stop?.();
      const watcher = watchTlsFiles(
        files,
        (read) => {
          const next = merge(read);
          server.setSecureContext({ cert: next.cert, key: next.key, ca: next.ca });
        },
        { onError },
      );
      // Files changed between the first read and now: serve what is there now.
      const now = merge(watcher.current);
      const same = (a: Buffer | undefined, b: Buffer | undefined) => (a && b ? a.equals(b) : a === b);
      if (!same(now.cert, material.cert) || !same(now.key, material.key) || !same(now.ca, material.ca)) {
        server.setSecureContext({ cert: now.cert, key: now.key, ca: now.ca });
      }
      stop = () => watcher.close();
      return stop;
    },
  };
}

function buffer(value: string | Buffer | undefined): Buffer | undefined {
  return value === undefined ? undefined : typeof value === 'string' ? Buffer.from(value) : value;
}
