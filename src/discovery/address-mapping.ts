/**
 * The part of the mapping that every registry holding one address per instance shares
 * (Consul, Eureka, Apache Curator's layout in ZooKeeper): the registry's address and port(s)
 * say where the preferred endpoint is, and metadata carries what they cannot — the full
 * endpoint list under ENDPOINTS_METADATA_KEY, the version and the zone. Reading is the reverse,
 * with a fallback for an instance someone else registered: without the list, the address is
 * the endpoints, in the registry's usual transport (gRPC for Consul and ZooKeeper, HTTP for
 * Eureka). Each backend keeps its wire format (Curator's JSON, Consul's Meta escaping,
 * Eureka's instance JSON) in its own folder and calls these for what they have in common.
 */
import {
  decodeEndpoints,
  ENDPOINTS_METADATA_KEY,
  type Endpoint,
  type EndpointTransport,
  encodeEndpoints,
  type ServiceInstance,
} from './instance.ts';

/** Switchboard's metadata keys for version and zone, where a registry has no convention of its own. */
export const VERSION_METADATA_KEY = 'switchboard-version';
export const ZONE_METADATA_KEY = 'switchboard-zone';

/** How one registry spells, in metadata, what its single address cannot say. */
export interface AddressConventions {
  /** The registry's name, for messages: "ZooKeeper". */
  readonly registry: string;
  /** Metadata key of the version (Eureka: "version"; elsewhere VERSION_METADATA_KEY). */
  readonly versionKey: string;
  /** Metadata key of the zone (Eureka: "zone", Spring Cloud's; elsewhere ZONE_METADATA_KEY). */
  readonly zoneKey: string;
  /** Transport of the endpoints an address stands for when the metadata lists none. */
  readonly transport: EndpointTransport;
  /**
   * "always" writes the endpoint list whatever the address says (Curator's nodes);
   * "when-needed" leaves it out when the address alone reads back as the same endpoints.
   */
  readonly listEndpoints: 'always' | 'when-needed';
}

/** The one address a registry holds: a host, and a plain port, a TLS port, or both. */
export interface SingleAddress {
  readonly host: string;
  readonly port?: number | undefined;
  readonly tlsPort?: number | undefined;
}

/** Everything of a ServiceInstance but its service and id, as read back from a registry. */
export interface AddressedFields {
  readonly endpoints: Endpoint[];
  readonly version?: string;
  readonly zone?: string;
  /** The instance's own metadata: what remains once the reserved keys are taken out. */
  readonly metadata: Record<string, string>;
}

/** The metadata keys the mapping reads into ServiceInstance fields. */
export function reservedMetadataKeys(conventions: AddressConventions): readonly string[] {
  return [ENDPOINTS_METADATA_KEY, conventions.versionKey, conventions.zoneKey];
}

/**
 * Throws a TypeError when the instance's own metadata uses a key the mapping reserves (those of
 * the conventions, and `extraKeys`): it would be read back as something else.
 */
export function checkReservedMetadata(
  instance: ServiceInstance,
  conventions: AddressConventions,
  extraKeys: readonly string[] = [],
): void {
  for (const key of [...extraKeys, ...reservedMetadataKeys(conventions)]) {
    if (Object.hasOwn(instance.metadata, key)) {
      throw new TypeError(
        `metadata.${key}: reserved, ${conventions.registry} carries the instance's ${key.replace('switchboard-', '')} in it`,
      );
    }
  }
}

/** The first endpoint as an address; its port is the TLS port when the endpoint uses TLS. */
export function firstEndpointAddress(endpoints: readonly Endpoint[]): SingleAddress {
  const [first] = endpoints;
  if (!first) throw new TypeError('endpoints: expected at least one endpoint');
  return first.tls ? { host: first.host, tlsPort: first.port } : { host: first.host, port: first.port };
}

/** The endpoints an address stands for: `transport` at host:port, then with TLS at host:tlsPort. */
export function addressEndpoints(address: SingleAddress, transport: EndpointTransport): Endpoint[] {
  const out: Endpoint[] = [];
  const { host, port, tlsPort } = address;
  if (port !== undefined) out.push({ transport, host, port });
  if (tlsPort !== undefined) out.push({ transport, host, port: tlsPort, tls: true });
  return out;
}

/**
 * The metadata entries that carry what `address` cannot say of `instance`: the endpoint list
 * (always, or when the address would read back as other endpoints), the version and the zone.
 * The caller adds them to the instance's own metadata, in its registry's format.
 */
export function reservedMetadata(
  instance: ServiceInstance,
  address: SingleAddress,
  conventions: AddressConventions,
): Record<string, string> {
  const reserved: Record<string, string> = {};
  const listed = encodeEndpoints(instance.endpoints);
  if (
    conventions.listEndpoints === 'always' ||
    encodeEndpoints(addressEndpoints(address, conventions.transport)) !== listed
  ) {
    reserved[ENDPOINTS_METADATA_KEY] = listed;
  }
  if (instance.version !== undefined) reserved[conventions.versionKey] = instance.version;
  if (instance.zone !== undefined) reserved[conventions.zoneKey] = instance.zone;
  return reserved;
}

/**
 * Reads what `reservedMetadata` wrote, or what another client registered: the endpoint list
 * from metadata, else the endpoints of `address()` (asked only then, so it may throw for an
 * address that makes none); version and zone when set and not empty; the rest as metadata.
 * A malformed endpoint list throws a TypeError naming `<where>.<key>`.
 */
export function readAddressed(
  metadata: Readonly<Record<string, string>>,
  address: () => SingleAddress,
  conventions: AddressConventions,
  where = 'metadata',
): AddressedFields {
  const reserved = reservedMetadataKeys(conventions);
  const own: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) if (!reserved.includes(key)) own[key] = value;
  const listed = metadata[ENDPOINTS_METADATA_KEY];
  let endpoints: Endpoint[];
  if (listed === undefined) endpoints = addressEndpoints(address(), conventions.transport);
  else {
    try {
      endpoints = decodeEndpoints(listed);
    } catch (err) {
      throw new TypeError(`${where}.${ENDPOINTS_METADATA_KEY}: ${(err as Error).message}`);
    }
  }
  const version = metadata[conventions.versionKey];
  const zone = metadata[conventions.zoneKey];
  return {
    endpoints,
    ...(version ? { version } : {}),
    ...(zone ? { zone } : {}),
    metadata: own,
  };
}
