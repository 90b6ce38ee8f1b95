import { createHash, timingSafeEqual } from 'node:crypto';

/** Shorter plain tokens are refused: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Bearer tokens and the caller name each stands for. Keys are the tokens themselves or
 * `sha256:<hex>` digests of them (so a policy file need not hold the secret). Lookups compare
 * the presented token's digest with every entry in constant time, never stopping early, so
 * timing tells nothing about how close a guess came.
 */
export class TokenBook {
  readonly #entries: { digest: Buffer; name: string }[] = [];

  constructor(tokens: Record<string, { name: string }> = {}, where = 'tokens') {
    if (typeof tokens !== 'object' || tokens === null) throw new TypeError(`${where}: expected an object`);
    for (const [key, value] of Object.entries(tokens)) {
      if (typeof value?.name !== 'string' || value.name.length === 0) {
        throw new TypeError(`${where}: every token needs a "name"`);
      }
      this.#entries.push({ digest: tokenDigest(key, where), name: value.name });
    }
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The name `token` stands for, undefined when unknown. */
  lookup(token: string): string | undefined {
    const digest = createHash('sha256').update(token).digest();
    let found: string | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(digest, entry.digest) && found === undefined) found = entry.name;
    }
    return found;
  }
}

/** The token of an `authorization` value: `Bearer <token>`; undefined for other schemes. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}

function tokenDigest(key: string, where: string): Buffer {
  if (key.startsWith('sha256:')) {
    const hex = key.slice('sha256:'.length);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError(`${where}: sha256: expects 64 hex digits`);
    return Buffer.from(hex, 'hex');
  }
  if (key.length < MIN_TOKEN_LENGTH) {
    throw new TypeError(`${where}: a token needs at least ${MIN_TOKEN_LENGTH} characters`);
  }
  return createHash('sha256').update(key).digest();
}
