import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import tls from 'node:tls';

/** PEM files that make a TLS identity: a certificate (chain) and its key, and the CA(s) to trust. */
export interface TlsFiles {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

/** What a secure context is made of, read from TlsFiles or given inline. */
export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/** Whether any file is named (certFile, keyFile or caFile). */
export function hasTlsFiles(files: TlsFiles | undefined): boolean {
  return files !== undefined && (files.certFile ?? files.keyFile ?? files.caFile) !== undefined;
}

/**
 * Reads the files and checks them: each parses, the key belongs to the certificate, and Node
 * can build a secure context from them. Throws an Error naming the file at fault, so a
 * half-written or mismatched file is refused instead of served.
 */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new Error('TLS files: certFile and keyFile go together');
  }
  const material: TlsMaterial = {
    cert: files.certFile === undefined ? undefined : readFileSync(files.certFile),
    key: files.keyFile === undefined ? undefined : readFileSync(files.keyFile),
    ca: files.caFile === undefined ? undefined : readFileSync(files.caFile),
  };
  validateTlsMaterial(material, files);
  return material;
}

/** Throws when the material is not a usable certificate, key and CA. */
export function validateTlsMaterial(material: TlsMaterial, names: TlsFiles = {}): void {
  const certName = names.certFile ?? 'the certificate';
  const keyName = names.keyFile ?? 'the key';
  let cert: X509Certificate | undefined;
  if (material.cert) cert = parsed(() => new X509Certificate(material.cert!), certName);
  if (material.key) {
    const key = parsed(() => createPrivateKey(material.key!), keyName);
    if (cert && !cert.checkPrivateKey(key)) {
      throw new Error(`TLS files: ${keyName} is not the key of ${certName}`);
    }
  }
  if (material.ca) parsed(() => new X509Certificate(material.ca!), names.caFile ?? 'the CA');
  // The last word: what the TLS stack itself accepts (a chain with a broken second PEM block).
  parsed(() => tls.createSecureContext(material), names.certFile ?? names.caFile ?? 'the TLS files');
}

function parsed<T>(parse: () => T, name: string): T {
  try {
    return parse();
  } catch (err) {
    throw new Error(`TLS files: cannot use ${name}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The current material of TlsFiles for a client: read again before a new connection when a
 * file changed (size, mtime or inode), so new connections pick up rotated certificates while
 * connections already open keep theirs. A file that does not parse keeps the last good
 * material (and is reported to onError); only the first read throws.
 */
export class TlsFileSource {
  readonly #files: TlsFiles;
  readonly #onError: (err: Error) => void;
  #stamp = '';
  #material: TlsMaterial;

  constructor(files: TlsFiles, onError: (err: Error) => void = warn) {
    this.#files = files;
    this.#onError = onError;
    this.#stamp = this.#stampNow();
    this.#material = readTlsFiles(files);
  }

  current(): TlsMaterial {
    const stamp = this.#stampNow();
    if (stamp !== this.#stamp) {
      this.#stamp = stamp;
      try {
        this.#material = readTlsFiles(this.#files);
      } catch (err) {
        this.#onError(err as Error);
      }
    }
    return this.#material;
  }

  #stampNow(): string {
    const files = this.#files;
    return [files.certFile, files.keyFile, files.caFile]
      .map((file) => {
        if (file === undefined) return '-';
        try {
          const s = statSync(file);
          return `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }
}

/** The default report of trouble with TLS files: a process warning (the old context stays). */
export function warn(err: Error): void {
  process.emitWarning(err.message, { code: 'SWITCHBOARD_TLS_FILES' });
}
