/** A throwaway self-signed certificate for TLS tests, made with the openssl command line. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SelfSignedCert {
  /** The temporary folder holding cert.pem and key.pem. */
  dir: string;
  cert: Buffer;
  key: Buffer;
  /** Removes `dir`. */
  cleanup(): void;
}

export interface SelfSignedOptions {
  /** Prefix of the temporary folder's name. */
  prefix?: string;
  /** The key type: an EC P-256 key (the default) or RSA 2048. */
  keyType?: 'ec' | 'rsa';
}

/**
 * Makes a key and a one-day self-signed certificate for CN=localhost, valid for the names
 * localhost and 127.0.0.1, in a new temporary folder. Throws (leaving nothing behind) when
 * openssl fails or is missing.
 */
export function selfSignedCert(options: SelfSignedOptions = {}): SelfSignedCert {
  const dir = mkdtempSync(path.join(os.tmpdir(), options.prefix ?? 'sb-tls-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  const newKey =
    options.keyType === 'rsa'
      ? ['-newkey', 'rsa:2048']
      : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...newKey,
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { dir, cert: readFileSync(certPath), key: readFileSync(keyPath), cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}
