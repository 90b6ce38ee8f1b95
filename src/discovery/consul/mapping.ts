/**
 * One ServiceInstance ↔ one Consul service, the same both ways for ConsulRegistry (a client of
 * any Consul agent) and for the hub's Consul-compatible API, so either side reads what the
 * other wrote. Consul holds one Address:Port per service; the rest travels in Meta:
 *
 * | ServiceInstance      | Consul service                                               |
 * | -------------------- | ------------------------------------------------------------ |
 * | service, id          | Name (Service when read back), ID                            |
 * | endpoints[0]         | Address, Port                                                |
 * | endpoints (all)      | Meta["switchboard-endpoints"], left out when it is just one  |
 * |                      | plain gRPC endpoint at Address:Port (what any client assumes)|
 * | version, zone        | Meta["switchboard-version"], Meta["switchboard-zone"]        |
 * | metadata["consul-tags"] | Tags, as a JSON array (Consul reserves the consul- prefix  |
 * |                      | in Meta, so the key never collides with a real Meta key)     |
 * | metadata (the rest)  | Meta; a key Consul would refuse (a dot, a reserved prefix)   |
 * |                      | goes as "switchboard-x-" + the key with other bytes as _XX   |
 */
import {
  type AddressConventions,
  readAddressed,
  reservedMetadata,
  VERSION_METADATA_KEY,
  ZONE_METADATA_KEY,
} from '../address-mapping.ts';
import { type ServiceInstance, validateInstance } from '../instance.ts';

/** Consul's conventions: a plain gRPC service at Address:Port needs no endpoint list. */
export const CONSUL_CONVENTIONS: AddressConventions = {
  registry: 'Consul',
  versionKey: VERSION_METADATA_KEY,
  zoneKey: ZONE_METADATA_KEY,
  transport: 'grpc',
  listEndpoints: 'when-needed',
};

/** Where a Consul service's Tags live in ServiceInstance.metadata, as a JSON array. */
export const TAGS_METADATA_KEY = 'consul-tags';
const ESCAPED_KEY_PREFIX = 'switchboard-x-';
const OWN_PREFIX = 'switchboard-';
const CONSUL_RESERVED_PREFIX = 'consul-';

/** What Consul accepts in a service's Meta (agent/structs: metaMaxKeyPairs and friends). */
export const CONSUL_META_LIMITS = { pairs: 64, keyLength: 128, valueLength: 512 } as const;
const META_KEY = /^[A-Za-z0-9_-]+$/;

/** The fields of a Consul service registration this mapping fills and reads. */
export interface ConsulServiceFields {
  id: string;
  name: string;
  /** '' means "the agent's address" to Consul. */
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
}

/** The Consul side of `instance`. Throws a TypeError when Consul could not hold its Meta. */
export function instanceToConsul(instance: ServiceInstance): ConsulServiceFields {
  const [first] = instance.endpoints;
  if (!first) throw new TypeError('endpoints: expected at least one endpoint');
  const meta: Record<string, string> = {};
  let tags: string[] = [];
  for (const [key, value] of Object.entries(instance.metadata)) {
    if (key === TAGS_METADATA_KEY) tags = parseTags(value);
    else meta[needsEscape(key) ? ESCAPED_KEY_PREFIX + escapeKey(key) : key] = value;
  }
  // Consul has one port, TLS or not: the endpoint list says which.
  const address = { host: first.host, port: first.port };
  Object.assign(meta, reservedMetadata(instance, address, CONSUL_CONVENTIONS));
  const problem = consulMetaProblem(meta);
  if (problem) throw new TypeError(`metadata does not fit Consul's Meta: ${problem}`);
  return { id: instance.id, name: instance.service, address: first.host, port: first.port, tags, meta };
}

/**
 * The instance a Consul service describes; `agentAddress` stands in for an empty Address, as
 * Consul's own clients read it. Throws a TypeError naming what does not make an instance.
 */
export function consulToInstance(
  { id, name, address, port, tags, meta }: ConsulServiceFields,
  agentAddress: string,
): ServiceInstance {
  const { metadata: escaped, ...fields } = readAddressed(
    meta,
    () => ({ host: address === '' ? agentAddress : address, port }),
    CONSUL_CONVENTIONS,
    'Meta',
  );
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(escaped)) {
    const unescaped = key.startsWith(ESCAPED_KEY_PREFIX)
      ? unescapeKey(key.slice(ESCAPED_KEY_PREFIX.length))
      : undefined;
    metadata[unescaped ?? key] = value;
  }
  if (tags.length > 0) metadata[TAGS_METADATA_KEY] = JSON.stringify(tags);
  return validateInstance({ service: name, id, ...fields, metadata });
}

/** The instance of one entry of /v1/health/service/<name>, or undefined when it makes none. */
export function healthEntryToInstance(entry: unknown): ServiceInstance | undefined {
  const e = entry as { Node?: { Address?: unknown }; Service?: Record<string, unknown> } | null;
  const service = e?.Service;
  if (typeof service !== 'object' || service === null) return undefined;
  const nodeAddress = typeof e?.Node?.Address === 'string' ? e.Node.Address : '';
  try {
    return consulToInstance(
      {
        id: String(service.ID ?? ''),
        name: String(service.Service ?? ''),
        address: typeof service.Address === 'string' ? service.Address : '',
        port: typeof service.Port === 'number' ? service.Port : 0,
        tags: stringArray(service.Tags),
        meta: stringRecord(service.Meta),
      },
      nodeAddress,
    );
  } catch {
    return undefined; // a service some other client registered without a usable address
  }
}

/** Why Consul would refuse `meta` ("Invalid Service Meta: …"), or undefined when it would not. */
export function consulMetaProblem(meta: Readonly<Record<string, string>>): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > CONSUL_META_LIMITS.pairs) {
    return `Service metadata cannot contain more than ${CONSUL_META_LIMITS.pairs} key/value pairs`;
  }
  for (const [key, value] of entries) {
    const pair = `Couldn't load metadata pair (${JSON.stringify(key.slice(0, 40))}, ${JSON.stringify(value.slice(0, 40))})`;
    if (key === '') return `${pair}: Key cannot be blank`;
    if (!META_KEY.test(key)) return `${pair}: Key contains invalid characters`;
    if (key.length > CONSUL_META_LIMITS.keyLength) {
      return `${pair}: Key is too long (limit: ${CONSUL_META_LIMITS.keyLength} characters)`;
    }
    if (key.startsWith(CONSUL_RESERVED_PREFIX)) {
      return `${pair}: Key prefix '${CONSUL_RESERVED_PREFIX}' is reserved for internal use`;
    }
    if (Buffer.byteLength(value) > CONSUL_META_LIMITS.valueLength) {
      return `${pair}: Value is too long (limit: ${CONSUL_META_LIMITS.valueLength} characters)`;
    }
  }
  return undefined;
}

function needsEscape(key: string): boolean {
  return (
    !META_KEY.test(key) ||
    key.length > CONSUL_META_LIMITS.keyLength ||
    key.startsWith(OWN_PREFIX) ||
    key.startsWith(CONSUL_RESERVED_PREFIX)
  );
}

/** Letters, digits and '-' stay; every other UTF-8 byte (and '_', the escape) becomes _XX. */
function escapeKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function unescapeKey(escaped: string): string | undefined {
  if (!/^(?:[A-Za-z0-9-]|_[0-9A-F]{2})*$/.test(escaped)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] === '_') {
      bytes.push(Number.parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(escaped.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

function parseTags(value: string): string[] {
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed) && parsed.every((t) => typeof t === 'string')) return parsed;
  } catch {
    // not JSON: one tag, as written
  }
  return [value];
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
