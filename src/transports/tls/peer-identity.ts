import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PeerIdentity } from '../../core/context.ts';

const IDENTITY = Symbol('switchboard.peerIdentity');

type IdentityCarrier = TLSSocket & { [IDENTITY]?: PeerIdentity | null };

/**
 * The caller's identity from the verified client certificate of a TLS connection: its URI
 * SANs (SPIFFE-style), DNS SANs and CN. Undefined when the socket is not TLS, carries no
 * certificate, or the certificate was not verified against the server's CA (a server that
 * only requests certificates must not trust an unverified one). Worked out once per
 * connection and kept on the socket: every call of a connection shares it.
 */
export function peerIdentity(socket: Socket): PeerIdentity | undefined {
  const carrier = socket as IdentityCarrier;
  const known = carrier[IDENTITY];
  if (known !== undefined) return known ?? undefined;
  const identity = carrier.encrypted === true && carrier.authorized ? readIdentity(carrier) : undefined;
  // Only cache once the handshake is done (authorized is final then); null marks "none".
  if (carrier.encrypted === true) carrier[IDENTITY] = identity ?? null;
  return identity;
}

function readIdentity(socket: TLSSocket): PeerIdentity | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const { uris, dnsNames } = parseSubjectAltName(cert.subjectaltname ?? '');
  const cn = cert.subject?.CN;
  const commonName = Array.isArray(cn) ? cn[0] : cn;
  const name = uris[0] ?? dnsNames[0] ?? commonName;
  if (name === undefined) return undefined;
  return Object.freeze({
    name,
    uris: Object.freeze(uris),
    dnsNames: Object.freeze(dnsNames),
    ...(commonName === undefined ? {} : { commonName }),
  });
}

/** `DNS:a, URI:spiffe://…, IP Address:…` (Node's subjectaltname string) split by kind. */
export function parseSubjectAltName(text: string): { uris: string[]; dnsNames: string[] } {
  const uris: string[] = [];
  const dnsNames: string[] = [];
  // Values may be quoted (JSON strings) when they hold commas or quotes.
  const pattern = /(DNS|URI|IP Address|email|DirName|othername):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (const match of text.matchAll(pattern)) {
    const [, kind, raw = ''] = match;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.trim();
    if (kind === 'URI') uris.push(value);
    else if (kind === 'DNS') dnsNames.push(value);
  }
  return { uris, dnsNames };
}
