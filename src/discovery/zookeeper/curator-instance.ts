/**
 * The node format of Apache Curator's service discovery (curator-x-discovery): one node per
 * instance at `<basePath>/<service>/<id>` holding the JSON that Curator's JsonInstanceSerializer
 * writes for a `ServiceInstance<T>`. Java services that use Curator (or Spring Cloud Zookeeper,
 * which builds on it) read our nodes, and we read theirs.
 */
import {
  type AddressConventions,
  firstEndpointAddress,
  readAddressed,
  reservedMetadata,
  type SingleAddress,
  VERSION_METADATA_KEY,
  ZONE_METADATA_KEY,
} from '../address-mapping.ts';
import { type Endpoint, endpointScheme, type ServiceInstance, validateInstance } from '../instance.ts';

/** Spring Cloud Zookeeper's payload class: `{id, name, metadata: Map<String,String>}`. */
export const SPRING_PAYLOAD_CLASS = 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance';

/**
 * The payload metadata carries what Curator's instance has no place for: every endpoint
 * (always, so a Curator reader sees them all), version and zone under Switchboard's keys; a
 * node without the list is a gRPC service at address:port (and address:sslPort with TLS).
 */
export const CURATOR_CONVENTIONS: AddressConventions = {
  registry: 'ZooKeeper',
  versionKey: VERSION_METADATA_KEY,
  zoneKey: ZONE_METADATA_KEY,
  transport: 'grpc',
  listEndpoints: 'always',
};

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
  const address = firstEndpointAddress(instance.endpoints);
  const metadata: Record<string, string> = {
    ...instance.metadata,
    ...reservedMetadata(instance, address, CURATOR_CONVENTIONS),
  };
  return {
    name: instance.service,
    id: instance.id,
    address: address.host,
    port: address.port ?? null,
    sslPort: address.tlsPort ?? null,
    payload: { '@class': payloadClass, id: instance.id, name: instance.service, metadata },
    registrationTimeUTC: registeredAt,
    serviceType: 'DYNAMIC',
    uriSpec: {
      parts: [
        { value: `${endpointScheme(first)}://`, variable: false },
        { value: 'address', variable: true },
        { value: ':', variable: false },
        { value: first.tls ? 'ssl-port' : 'port', variable: true },
      ],
    },
    enabled: true,
  };
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
  const where = `${service}/${id}`;
  if (!data || data.length === 0) throw new TypeError(`${where}: the node holds no data`);
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw new TypeError(`${where}: the node does not hold JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError(`${where}: expected a Curator instance object`);
  }
  const node = json as Record<string, unknown>;
  if (node.enabled === false) return undefined;
  const fields = readAddressed(
    payloadMetadata(node.payload),
    () => curatorAddress(node, where),
    CURATOR_CONVENTIONS,
    `${where}: payload.metadata`,
  );
  return validateInstance({ service, id, ...fields });
}

/** The address and ports of a node; validateInstance checks the port numbers. */
function curatorAddress(node: Record<string, unknown>, where: string): SingleAddress {
  const { address, port, sslPort } = node;
  if (typeof address !== 'string' || address.length === 0) {
    throw new TypeError(`${where}: a Curator instance needs an address`);
  }
  const present = (value: unknown) => (value === null || value === undefined ? undefined : (value as number));
  const out = { host: address, port: present(port), tlsPort: present(sslPort) };
  if (out.port === undefined && out.tlsPort === undefined) {
    throw new TypeError(`${where}: a Curator instance needs a port or an sslPort`);
  }
  return out;
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
