/**
 * A development certificate authority for mutual TLS between services (`switchboard certs`):
 * an ECDSA P-256 CA, and per-service certificates it signs that name the service SPIFFE-style
 * (`spiffe://<trust domain>/service/<name>`) and serve as both server and client certificates.
 */
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as X509 from '@peculiar/x509';

export const DEFAULT_CERTS_DIR = '.switchboard/certs';
export const DEFAULT_TRUST_DOMAIN = 'switchboard.local';
const CA_CERT = 'ca.crt';
const CA_KEY = 'ca.key';
const TRUST_DOMAIN_FILE = 'trust-domain';
const DAY_MS = 86_400_000;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

const crypto = webcrypto;

/** @peculiar/x509, loaded after the metadata polyfill its tsyringe refuses to load without. */
async function loadX509(): Promise<typeof X509> {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface DevCa {
  certFile: string;
  keyFile: string;
  trustDomain: string;
}

export interface IssuedCert {
  certFile: string;
  keyFile: string;
  /** The CA's certificate: what peers trust. */
  caFile: string;
  /** The SPIFFE-style identity: `spiffe://<trust domain>/service/<service>`. */
  uri: string;
  /** Hexadecimal, as Node's getPeerCertificate() shows it. */
  serialNumber: string;
}

/** The identity a service's certificate carries. */
export function serviceUri(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/service/${service}`;
}

/** Creates the CA (key and self-signed certificate, valid `days`, one year unless set) in `dir`. */
export async function createDevCa(
  options: { dir?: string; trustDomain?: string; days?: number } = {},
): Promise<DevCa> {
  const dir = options.dir ?? DEFAULT_CERTS_DIR;
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(trustDomain)) {
    throw new Error(
      `invalid trust domain ${JSON.stringify(trustDomain)} (lower-case letters, digits, dots, dashes)`,
    );
  }
  const x509 = await loadX509();
  const keys = (await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: `CN=Switchboard development CA, O=${trustDomain}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + (options.days ?? 365) * DAY_MS),
      signingAlgorithm: ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = { certFile: path.join(dir, CA_CERT), keyFile: path.join(dir, CA_KEY), trustDomain };
  writeAtomically(ca.keyFile, await keyPem(keys.privateKey), 0o600);
  writeAtomically(ca.certFile, cert.toString('pem'), 0o644);
  writeAtomically(path.join(dir, TRUST_DOMAIN_FILE), `${trustDomain}\n`, 0o644);
  return ca;
}

/**
 * Issues `<service>.crt` and `<service>.key` in `dir`, signed by the CA there: SANs the
 * service's SPIFFE URI, DNS localhost and `dnsNames`, IP 127.0.0.1; server and client auth;
 * valid `days` (30 unless set). Files are replaced by rename, so a watching server never reads
 * half a file.
 */
export async function issueDevCert(options: {
  service: string;
  dir?: string;
  dnsNames?: readonly string[];
  days?: number;
}): Promise<IssuedCert> {
  const { service } = options;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(service)) {
    throw new Error(
      `invalid service name ${JSON.stringify(service)} (letters, digits, dots, dashes, underscores)`,
    );
  }
  const dir = options.dir ?? DEFAULT_CERTS_DIR;
  const caFile = path.join(dir, CA_CERT);
  const x509 = await loadX509();
  let caCert: X509.X509Certificate;
  let caKey: CryptoKey;
  try {
    caCert = new x509.X509Certificate(readFileSync(caFile, 'utf8'));
    caKey = await importKey(readFileSync(path.join(dir, CA_KEY), 'utf8'));
  } catch (err) {
    throw new Error(
      `no usable CA in ${dir} (run 'switchboard certs init' first): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const trustDomain = readTrustDomain(dir);
  const keys = (await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const uri = serviceUri(trustDomain, service);
  const now = Date.now();
  const serialNumber = serial();
  const names: X509.JsonGeneralName[] = [
    { type: 'url', value: uri },
    ...['localhost', ...(options.dnsNames ?? [])].map((value) => ({ type: 'dns' as const, value })),
    { type: 'ip', value: '127.0.0.1' },
  ];
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber,
      subject: `CN=${service}`,
      issuer: caCert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(Math.min(now + (options.days ?? 30) * DAY_MS, caCert.notAfter.getTime())),
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
      ],
    },
    crypto,
  );
  const issued = {
    certFile: path.join(dir, `${service}.crt`),
    keyFile: path.join(dir, `${service}.key`),
    caFile,
    uri,
    serialNumber: serialNumber.toUpperCase(),
  };
  writeAtomically(issued.keyFile, await keyPem(keys.privateKey), 0o600);
  writeAtomically(issued.certFile, cert.toString('pem'), 0o644);
  return issued;
}

function readTrustDomain(dir: string): string {
  try {
    return readFileSync(path.join(dir, TRUST_DOMAIN_FILE), 'utf8').trim() || DEFAULT_TRUST_DOMAIN;
  } catch {
    return DEFAULT_TRUST_DOMAIN;
  }
}

/** 16 random bytes, the first below 0x80: a positive serial number of the usual size. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return (await crypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign'])) as CryptoKey;
}

/** Writes beside the file and renames into place, with the mode set before anyone can read it. */
function writeAtomically(file: string, text: string, mode: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}
