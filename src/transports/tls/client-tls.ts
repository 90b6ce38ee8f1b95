import { hasTlsFiles, TlsFileSource, type TlsFiles } from './tls-files.ts';

/** A client's TLS material: inline values, or files read again when they change. */
export interface ClientTlsMaterialOptions extends TlsFiles {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Trouble with changed files (the last good ones stay in use): a process warning unless set. */
  onTlsFileError?: (err: Error) => void;
}

/** What a new client connection uses: ca, cert and key. */
export interface ClientTlsMaterial {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/**
 * A function giving the material for each new connection. Without files it returns the inline
 * values; with files it reads them once now (throwing when they are unusable) and again before
 * a connection whenever they changed, so rotated certificates are used by new connections.
 */
export function clientTlsMaterial(options: ClientTlsMaterialOptions): () => ClientTlsMaterial {
  const inline: ClientTlsMaterial = { ca: options.ca, cert: options.cert, key: options.key };
  if (!hasTlsFiles(options)) return () => inline;
  const source = new TlsFileSource(
    { certFile: options.certFile, keyFile: options.keyFile, caFile: options.caFile },
    options.onTlsFileError,
  );
  return () => {
    const read = source.current();
    return { ca: read.ca ?? inline.ca, cert: read.cert ?? inline.cert, key: read.key ?? inline.key };
  };
}
