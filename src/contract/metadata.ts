/**
 * Call metadata: lower-case keys, each with one or more values. Keys ending in `-bin` carry
 * bytes, all others carry printable ASCII strings (the gRPC rule, applied on every transport).
 */
export type MetadataValue = string | Uint8Array;
export type MetadataInit =
  | Metadata
  | Record<string, MetadataValue | MetadataValue[]>
  | Iterable<[string, MetadataValue]>;

const KEY = /^[0-9a-z_.-]+$/;

export class Metadata {
  readonly #map = new Map<string, MetadataValue[]>();

  constructor(init?: MetadataInit) {
    if (!init) return;
    if (init instanceof Metadata) {
      for (const [k, v] of init.#map) this.#map.set(k, v.slice());
    } else if (Symbol.iterator in init) {
      for (const [k, v] of init as Iterable<[string, MetadataValue]>) this.add(k, v);
    } else {
      for (const [k, v] of Object.entries(init)) {
        if (Array.isArray(v)) for (const x of v) this.add(k, x);
        else this.add(k, v);
      }
    }
  }

  static isBinaryKey(key: string): boolean {
    return key.endsWith('-bin');
  }

  static validKey(key: string): boolean {
    return KEY.test(key);
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): MetadataValue | undefined {
    return this.#map.get(key.toLowerCase())?.[0];
  }

  /** The first value as a string (`-bin` values are decoded as UTF-8). */
  getString(key: string): string | undefined {
    const v = this.get(key);
    return v === undefined || typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
  }

  getAll(key: string): MetadataValue[] {
    return this.#map.get(key.toLowerCase())?.slice() ?? [];
  }

  has(key: string): boolean {
    return this.#map.has(key.toLowerCase());
  }

  set(key: string, value: MetadataValue): this {
    const k = checkKey(key, value);
    this.#map.set(k, [value]);
    return this;
  }

  add(key: string, value: MetadataValue): this {
    const k = checkKey(key, value);
    const list = this.#map.get(k);
    if (list) list.push(value);
    else this.#map.set(k, [value]);
    return this;
  }

  delete(key: string): boolean {
    return this.#map.delete(key.toLowerCase());
  }

  /** Every (key, value) pair, a key repeated once per value. */
  *entries(): IterableIterator<[string, MetadataValue]> {
    for (const [k, list] of this.#map) for (const v of list) yield [k, v];
  }

  [Symbol.iterator](): IterableIterator<[string, MetadataValue]> {
    return this.entries();
  }

  /** Copies every pair of `other` into this one (values appended). */
  merge(other: Metadata): this {
    for (const [k, v] of other.entries()) this.add(k, v);
    return this;
  }

  clone(): Metadata {
    return new Metadata(this);
  }

  toJSON(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [k, list] of this.#map) {
      out[k] = list.map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('base64')));
    }
    return out;
  }
}

function checkKey(key: string, value: MetadataValue): string {
  const k = key.toLowerCase();
  if (!KEY.test(k)) throw new TypeError(`invalid metadata key ${JSON.stringify(key)}`);
  const binary = k.endsWith('-bin');
  if (binary && typeof value === 'string') throw new TypeError(`metadata key ${k} needs a binary value`);
  if (!binary && typeof value !== 'string') throw new TypeError(`metadata key ${k} needs a string value`);
  return k;
}
