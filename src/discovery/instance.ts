/**
 * What a registry holds: one running copy of a service and the addresses it answers on.
 * Every backend stores these same fields in its own layout (a Curator JSON node, a Consul
 * service with Meta, a Eureka instance with metadata, an etcd key).
 */

/** Transports an endpoint can speak; a non-Switchboard server usually offers just one. */
export type EndpointTransport = 'grpc' | 'http' | 'native';

export const ENDPOINT_TRANSPORTS: readonly EndpointTransport[] = ['grpc', 'http', 'native'];

export interface Endpoint {
  readonly transport: EndpointTransport;
  /** Host name or IP address, without brackets for IPv6. */
  readonly host: string;
  readonly port: number;
  readonly tls?: boolean;
}

export interface ServiceInstance {
  /** The name callers resolve, e.g. the proto service "greet.Greeter". */
  readonly service: string;
  /** Unique within the service; stable across heartbeats, new per process. */
  readonly id: string;
  /** One endpoint per transport served; the first is the preferred one. */
  readonly endpoints: readonly Endpoint[];
  readonly version?: string;
  /** Locality for zone preference ("eu-west-1a", "rack-3"). */
  readonly zone?: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Limits a registry enforces on what it stores, so one registration cannot exhaust it. */
export const INSTANCE_LIMITS = {
  nameLength: 256,
  idLength: 128,
  endpoints: 8,
  metadataEntries: 64,
  metadataKeyLength: 128,
  metadataValueLength: 1024,
  /** Total bytes of all metadata keys and values. */
  metadataBytes: 16 * 1024,
} as const;

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;
const ID = /^[A-Za-z0-9_.:-]+$/;

/** Throws a TypeError naming the first problem, or returns the instance, normalised. */
export function validateInstance(value: unknown): ServiceInstance {
  if (typeof value !== 'object' || value === null) throw new TypeError('instance: expected an object');
  const v = value as Record<string, unknown>;
  const service = requireString(v.service, 'service', INSTANCE_LIMITS.nameLength);
  if (!NAME.test(service))
    throw new TypeError(`service: ${JSON.stringify(service)} is not a valid service name`);
  const id = requireString(v.id, 'id', INSTANCE_LIMITS.idLength);
  if (!ID.test(id))
    throw new TypeError(`id: ${JSON.stringify(id)} may hold only letters, digits and _ . : -`);
  if (!Array.isArray(v.endpoints) || v.endpoints.length === 0) {
    throw new TypeError('endpoints: expected at least one endpoint');
  }
  if (v.endpoints.length > INSTANCE_LIMITS.endpoints) {
    throw new TypeError(`endpoints: at most ${INSTANCE_LIMITS.endpoints}, got ${v.endpoints.length}`);
  }
  const endpoints = v.endpoints.map((e, i) => validateEndpoint(e, `endpoints[${i}]`));
  const instance: { -readonly [K in keyof ServiceInstance]: ServiceInstance[K] } = {
    service,
    id,
    endpoints,
    metadata: validateMetadata(v.metadata ?? {}),
  };
  if (v.version !== undefined)
    instance.version = requireString(v.version, 'version', INSTANCE_LIMITS.nameLength);
  if (v.zone !== undefined) instance.zone = requireString(v.zone, 'zone', INSTANCE_LIMITS.nameLength);
  return instance;
}

function validateEndpoint(value: unknown, where: string): Endpoint {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${where}: expected an object`);
  const v = value as Record<string, unknown>;
  if (!ENDPOINT_TRANSPORTS.includes(v.transport as EndpointTransport)) {
    throw new TypeError(`${where}.transport: expected one of ${ENDPOINT_TRANSPORTS.join(', ')}`);
  }
  const host = requireString(v.host, `${where}.host`, 255);
  if (!Number.isInteger(v.port) || (v.port as number) < 1 || (v.port as number) > 65535) {
    throw new TypeError(`${where}.port: expected an integer from 1 to 65535`);
  }
  const endpoint: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    transport: v.transport as EndpointTransport,
    host,
    port: v.port as number,
  };
  if (v.tls !== undefined) {
    if (typeof v.tls !== 'boolean') throw new TypeError(`${where}.tls: expected a boolean`);
    if (v.tls) endpoint.tls = true;
  }
  return endpoint;
}

function validateMetadata(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('metadata: expected an object of strings');
  }
  const entries = Object.entries(value);
  if (entries.length > INSTANCE_LIMITS.metadataEntries) {
    throw new TypeError(
      `metadata: at most ${INSTANCE_LIMITS.metadataEntries} entries, got ${entries.length}`,
    );
  }
  let bytes = 0;
  const out: Record<string, string> = {};
  for (const [key, v] of entries) {
    if (key.length === 0 || key.length > INSTANCE_LIMITS.metadataKeyLength) {
      throw new TypeError(
        `metadata: key ${JSON.stringify(key.slice(0, 40))} must have 1 to ${INSTANCE_LIMITS.metadataKeyLength} characters`,
      );
    }
    const text = requireString(v, `metadata.${key}`, INSTANCE_LIMITS.metadataValueLength, true);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(text);
    out[key] = text;
  }
  if (bytes > INSTANCE_LIMITS.metadataBytes) {
    throw new TypeError(`metadata: ${bytes} bytes, more than the limit of ${INSTANCE_LIMITS.metadataBytes}`);
  }
  return out;
}

function requireString(value: unknown, where: string, max: number, allowEmpty = false): string {
  if (typeof value !== 'string') throw new TypeError(`${where}: expected a string`);
  if (!allowEmpty && value.length === 0) throw new TypeError(`${where}: must not be empty`);
  if (value.length > max) throw new TypeError(`${where}: longer than ${max} characters`);
  return value;
}

/** The URL scheme of an endpoint: its transport, with "s" for TLS ("grpcs", "natives"; "https"). */
export function endpointScheme(endpoint: Endpoint): string {
  if (!endpoint.tls) return endpoint.transport;
  return endpoint.transport === 'http' ? 'https' : `${endpoint.transport}s`;
}

/** "grpc://host:port": the target `connect()` understands. */
export function endpointTarget(endpoint: Endpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${endpointScheme(endpoint)}://${host}:${endpoint.port}`;
}

/** Parses "grpc://h:p", "native://h:p", "https://h:p" (and bare "h:p", taken as gRPC). */
export function parseEndpoint(target: string): Endpoint {
  const match = /^(?:([a-z]+):\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(target);
  if (!match) throw new TypeError(`endpoint ${JSON.stringify(target)}: expected scheme://host:port`);
  const [, scheme = 'grpc', rawHost = '', port = ''] = match;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const schemes: Record<string, [EndpointTransport, boolean]> = {
    grpc: ['grpc', false],
    grpcs: ['grpc', true],
    http: ['http', false],
    https: ['http', true],
    native: ['native', false],
    natives: ['native', true],
  };
  const known = schemes[scheme];
  if (!known) throw new TypeError(`endpoint ${JSON.stringify(target)}: unknown scheme ${scheme}://`);
  return validateEndpoint({ transport: known[0], host, port: Number(port), tls: known[1] }, target);
}

/**
 * Registries that store one address per instance (Consul, Eureka, Curator) carry the full
 * endpoint list in metadata under this key, as space-separated targets.
 */
export const ENDPOINTS_METADATA_KEY = 'switchboard-endpoints';

export function encodeEndpoints(endpoints: readonly Endpoint[]): string {
  return endpoints.map(endpointTarget).join(' ');
}

export function decodeEndpoints(text: string): Endpoint[] {
  return text
    .split(/\s+/)
    .filter((t) => t.length > 0)
    .map(parseEndpoint);
}
