/**
 * The node format of Apache Curator's service discovery (curator-x-discovery): one node per
 * instance at `<basePath>/<service>/<id>` holding the JSON that Curator's JsonInstanceSerializer
 * writes for a `ServiceInstance<T>`. Java services that use Curator (or Spring Cloud Zookeeper,
 * which builds on it) read our nodes, and we read theirs.
 */
import {
  decodeEndpoints,
  ENDPOINTS_METADATA_KEY,
  type Endpoint,
  encodeEndpoints,
  type ServiceInstance,
  validateInstance,
} from '../instance.ts';

/** Spring Cloud Zookeeper's payload class: `{id, name, metadata: Map<String,String>}`. */
export const SPRING_PAYLOAD_CLASS = 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance';

/** Payload metadata keys that carry the fields Curator's instance has no place for. */
export const VERSION_METADATA_KEY = 'switchboard-version';
export const ZONE_METADATA_KEY = 'switchboard-zone';
export const RESERVED_METADATA_KEYS: readonly string[] = [
  ENDPOINTS_METADATA_KEY,
  VERSION_METADATA_KEY,
  ZONE_METADATA_KEY,
];

/** One piece of a Curator UriSpec such as "{scheme}://{address}:{port}". */
export interface CuratorUriPart {
  value: string;
  variable: boolean;
}

/** Curator's ServiceInstance as JsonInstanceSerializer writes it (Curator 2.10+ adds `enabled`). */
export interface CuratorInstanceJson {
  name: string;
  id: string;
  address: string | null;
  port: number | null;
  sslPort: number | null;
  payload: Record<string, unknown> | null;
  registrationTimeUTC: number;
  serviceType: 'DYNAMIC' | 'STATIC' | 'PERMANENT' | 'DYNAMIC_SEQUENTIAL';
  uriSpec: { parts: CuratorUriPart[] } | null;
  enabled: boolean;
}

/**
 * Our instance as a Curator node: the preferred endpoint is the address and port (sslPort
 * when it uses TLS); the payload, in Spring Cloud Zookeeper's shape, carries the metadata plus
 * the full endpoint list, version and zone under the reserved keys.
 */
export function toCuratorJson(
  instance: ServiceInstance,
  registeredAt: number,
  payloadClass: string = SPRING_PAYLOAD_CLASS,
): CuratorInstanceJson {
  const [first] = instance.endpoints as [Endpoint, ...Endpoint[]];
  const metadata: Record<string, string> = {
    ...instance.metadata,
    [ENDPOINTS_METADATA_KEY]: encodeEndpoints(instance.endpoints),
  };
  if (instance.version !== undefined) metadata[VERSION_METADATA_KEY] = instance.version;
  if (instance.zone !== undefined) metadata[ZONE_METADATA_KEY] = instance.zone;
  const scheme = first.tls ? (first.transport === 'http' ? 'https' : `${first.transport}s`) : first.transport;
  return {
    name: instance.service,
    id: instance.id,
    address: first.host,
    port: first.tls ? null : first.port,
    sslPort: first.tls ? first.port : null,
    payload: { '@class': payloadClass, id: instance.id, name: instance.service, metadata },
    registrationTimeUTC: registeredAt,
    serviceType: 'DYNAMIC',
    uriSpec: {
      parts: [
        { value: `${scheme}://`, variable: false },
        { value: 'address', variable: true },
        { value: ':', variable: false },
        { value: first.tls ? 'ssl-port' : 'port', variable: true },
      ],
    },
    enabled: true,
  };
}

/** Throws a TypeError when our metadata uses a key the Curator payload reserves. */
export function checkReservedMetadata(instance: ServiceInstance): void {
  for (const key of RESERVED_METADATA_KEYS) {
    if (Object.hasOwn(instance.metadata, key)) {
      throw new TypeError(`metadata: the key ${key} is reserved for the registry`);
    }
  }
}

/**
 * Reads a Curator node written by anyone. `service` and `id` come from the node's path, which
 * Curator keeps equal to the JSON's name and id. Returns undefined for an instance Curator marks
 * disabled; throws a TypeError naming the problem for data that is not a usable instance.
 * A payload without our endpoint list (a plain Curator or Spring service) yields one gRPC
 * endpoint at address:port, and a TLS one at address:sslPort when there is an sslPort.
 */
export function fromCuratorJson(
  service: string,
  id: string,
  data: Buffer | null | undefined,
): ServiceInstance | undefined {
  if (!data || data.length === 0) throw new TypeError(`${service}/${id}: the node holds no data`);
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw new TypeError(`${service}/${id}: the node does not hold JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError(`${service}/${id}: expected a Curator instance object`);
  }
  const node = json as Record<string, unknown>;
  if (node.enabled === false) return undefined;
  const metadata = payloadMetadata(node.payload);
  const reserved = (key: string): string | undefined => {
    const value = metadata[key];
    delete metadata[key];
    return value;
  };
  const listed = reserved(ENDPOINTS_METADATA_KEY);
  const version = reserved(VERSION_METADATA_KEY);
  const zone = reserved(ZONE_METADATA_KEY);
  const endpoints =
    listed === undefined ? curatorEndpoints(node, `${service}/${id}`) : decodeEndpoints(listed);
  return validateInstance({
    service,
    id,
    endpoints,
    metadata,
    ...(version === undefined ? {} : { version }),
    ...(zone === undefined ? {} : { zone }),
  });
}

function curatorEndpoints(node: Record<string, unknown>, where: string): Endpoint[] {
  const { address, port, sslPort } = node;
  if (typeof address !== 'string' || address.length === 0) {
    throw new TypeError(`${where}: a Curator instance needs an address`);
  }
  const endpoints: Endpoint[] = [];
  if (port !== null && port !== undefined)
    endpoints.push({ transport: 'grpc', host: address, port: port as number });
  if (sslPort !== null && sslPort !== undefined) {
    endpoints.push({ transport: 'grpc', host: address, port: sslPort as number, tls: true });
  }
  if (endpoints.length === 0) throw new TypeError(`${where}: a Curator instance needs a port or an sslPort`);
  return endpoints; // validateInstance checks the port numbers
}

/**
 * String entries of the payload's `metadata` map (Spring Cloud's payload and ours), or of a
 * flat map payload (`{"@class": "java.util.HashMap", ...}`). Anything else carries none.
 */
function payloadMetadata(payload: unknown): Record<string, string> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return {};
  const p = payload as Record<string, unknown>;
  const source =
    typeof p.metadata === 'object' && p.metadata !== null && !Array.isArray(p.metadata)
      ? (p.metadata as Record<string, unknown>)
      : p;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (key !== '@class' && typeof value === 'string') out[key] = value;
  }
  return out;
}
