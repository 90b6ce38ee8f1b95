/**
 * The one mapping between Switchboard's ServiceInstance and a Eureka instance, used by the
 * hub's Eureka API (reading registrations, writing answers) and by EurekaRegistry (writing
 * registrations, reading answers), so both directions agree.
 *
 * - service: Eureka upper-cases app names, so the exact name travels in metadata
 *   `switchboard-service` (only when it differs from the app name); without it the service is
 *   the app name as written. App names compare case-insensitively.
 * - endpoints: metadata `switchboard-endpoints` when present, else http at ipAddr:port and
 *   https at ipAddr:securePort, for whichever is enabled.
 * - version and zone: metadata `version` and `zone` (Spring Cloud's zone key).
 * - lease: leaseInfo.durationInSecs, default 90.
 */
import {
  type AddressConventions,
  readAddressed,
  reservedMetadata,
  type SingleAddress,
} from '../address-mapping.ts';
import { type ServiceInstance, validateInstance } from '../instance.ts';
import {
  DEFAULT_DATA_CENTER_INFO,
  DEFAULT_LEASE_DURATION_SECS,
  DEFAULT_RENEWAL_INTERVAL_SECS,
  type EurekaActionType,
  type EurekaInstance,
  type EurekaStatus,
  eurekaPort,
  isObject,
  readMetadata,
  readNumber,
  readPort,
  readStatus,
  readText,
  requireText,
} from './wire.ts';

export const SERVICE_METADATA_KEY = 'switchboard-service';

/**
 * Eureka's conventions: version and zone under `version` and `zone` (Spring Cloud's zone key);
 * the address is HTTP at ipAddr:port and HTTPS at ipAddr:securePort, and the endpoint list is
 * written only when those say something else.
 */
export const EUREKA_CONVENTIONS: AddressConventions = {
  registry: 'Eureka',
  versionKey: 'version',
  zoneKey: 'zone',
  transport: 'http',
  listEndpoints: 'when-needed',
};

const MAX_DATA_CENTER_INFO_CHARS = 4096;
const MAX_URL_CHARS = 2048;
/** Longest lease written: Eureka's fields are Java ints. */
const MAX_LEASE_SECS = 2 ** 31 - 1;

/** What a Eureka instance says beyond a ServiceInstance, kept to answer in Eureka's terms. */
export interface EurekaDetails {
  /** The app name as the registration spelled it. */
  readonly app: string;
  readonly hostName: string;
  readonly ipAddr: string;
  /** The status the instance reports for itself. */
  readonly status: EurekaStatus;
  readonly port: { readonly port: number; readonly enabled: boolean };
  readonly securePort: { readonly port: number; readonly enabled: boolean };
  readonly vipAddress?: string;
  readonly secureVipAddress?: string;
  readonly homePageUrl?: string;
  readonly statusPageUrl?: string;
  readonly healthCheckUrl?: string;
  readonly dataCenterInfo: Readonly<Record<string, unknown>>;
  readonly countryId: number;
  readonly durationInSecs: number;
  readonly renewalIntervalInSecs: number;
  readonly lastDirtyTimestamp?: number;
  /** Metadata exactly as registered, with the keys the mapping reads. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface EurekaRegistration {
  readonly instance: ServiceInstance;
  readonly details: EurekaDetails;
}

/** The server-side state of an instance that goes into what is written. */
export interface EurekaInstanceState {
  status: EurekaStatus;
  overriddenStatus?: EurekaStatus;
  registeredAt: number;
  renewedAt: number;
  updatedAt: number;
  dirtyAt: number;
  actionType?: EurekaActionType;
}

/**
 * Reads an instance as Eureka servers and clients write it (the object inside
 * `{"instance": …}`). Throws a TypeError naming the first problem.
 */
export function readEurekaInstance(value: unknown): EurekaRegistration {
  if (!isObject(value)) throw new TypeError('instance: expected an object');
  const app = requireText(value.app, 'instance.app', 256);
  const hostName = requireText(value.hostName, 'instance.hostName', 255);
  const ipAddr = requireText(value.ipAddr, 'instance.ipAddr', 255);
  const dataCenterInfo = readDataCenterInfo(value.dataCenterInfo);
  const amazonId = isObject(dataCenterInfo.metadata) ? dataCenterInfo.metadata['instance-id'] : undefined;
  const id =
    readText(value.instanceId, 'instance.instanceId', 128) ??
    (String(dataCenterInfo.name).toLowerCase() === 'amazon'
      ? readText(amazonId, 'instance.dataCenterInfo.metadata.instance-id', 128)
      : undefined) ??
    hostName;
  const port = readPort(value.port, 'instance.port', true) ?? { port: 0, enabled: false };
  const securePort = readPort(value.securePort, 'instance.securePort', false) ?? {
    port: 0,
    enabled: false,
  };
  const lease = isObject(value.leaseInfo) ? value.leaseInfo : {};
  const metadata = readMetadata(value.metadata, 'instance.metadata');
  const details: EurekaDetails = {
    app,
    hostName,
    ipAddr,
    status: readStatus(value.status, 'instance.status') ?? 'UP',
    port,
    securePort,
    dataCenterInfo,
    countryId: readNumber(value.countryId, 'instance.countryId') ?? 1,
    durationInSecs: positive(
      readNumber(lease.durationInSecs, 'instance.leaseInfo.durationInSecs'),
      DEFAULT_LEASE_DURATION_SECS,
    ),
    renewalIntervalInSecs: positive(
      readNumber(lease.renewalIntervalInSecs, 'instance.leaseInfo.renewalIntervalInSecs'),
      DEFAULT_RENEWAL_INTERVAL_SECS,
    ),
    metadata,
    ...optionalText(value, 'vipAddress', 1024),
    ...optionalText(value, 'secureVipAddress', 1024),
    ...optionalText(value, 'homePageUrl', MAX_URL_CHARS),
    ...optionalText(value, 'statusPageUrl', MAX_URL_CHARS),
    ...optionalText(value, 'healthCheckUrl', MAX_URL_CHARS),
  };
  const dirty = readNumber(value.lastDirtyTimestamp, 'instance.lastDirtyTimestamp');
  const withDirty = dirty === undefined ? details : { ...details, lastDirtyTimestamp: dirty };
  return { instance: instanceOf(app, id, withDirty), details: withDirty };
}

function instanceOf(app: string, id: string, details: EurekaDetails): ServiceInstance {
  const named = details.metadata[SERVICE_METADATA_KEY];
  const service = named !== undefined && sameApp(named, app) ? named : app;
  const { metadata, ...fields } = readAddressed(
    details.metadata,
    () => portsAddress(details),
    EUREKA_CONVENTIONS,
    'instance.metadata',
  );
  if (fields.endpoints.length === 0) {
    throw new TypeError('instance: neither port nor securePort is enabled, so it has no address');
  }
  delete metadata[SERVICE_METADATA_KEY];
  try {
    return validateInstance({ service, id, ...fields, metadata });
  } catch (err) {
    throw new TypeError(`instance (${app}/${id}): ${(err as Error).message}`);
  }
}

/** ipAddr with port and securePort, each where it is enabled. */
function portsAddress(details: Pick<EurekaDetails, 'ipAddr' | 'port' | 'securePort'>): SingleAddress {
  const enabled = (p: { port: number; enabled: boolean }) => (p.enabled && p.port > 0 ? p.port : undefined);
  return { host: details.ipAddr, port: enabled(details.port), tlsPort: enabled(details.securePort) };
}

/** Eureka app names are case-insensitive. */
export function sameApp(a: string, b: string): boolean {
  return a.toUpperCase() === b.toUpperCase();
}

/**
 * The Eureka view of an instance that carries no Eureka registration (one registered through
 * another API, or one EurekaRegistry is about to register). The preferred plain-HTTP endpoint
 * becomes port, the HTTPS one securePort; without HTTP the first endpoint's port stands in,
 * and `switchboard-endpoints` carries the truth.
 */
export function detailsFor(instance: ServiceInstance, leaseMs: number): EurekaDetails {
  const { endpoints } = instance;
  const preferred = endpoints[0];
  if (!preferred) throw new TypeError('endpoints: expected at least one endpoint');
  const plain = endpoints.find((e) => e.transport === 'http' && !e.tls);
  const secure = endpoints.find((e) => e.transport === 'http' && e.tls);
  const main = plain ?? secure ?? preferred;
  // Without plain HTTP, the preferred endpoint's port stands in, enabled only if nothing else is.
  const address: SingleAddress = {
    host: main.host,
    port: plain?.port ?? (secure ? undefined : preferred.port),
    tlsPort: secure?.port,
  };
  const port = { port: plain?.port ?? preferred.port, enabled: address.port !== undefined };
  const securePort = { port: secure?.port ?? 443, enabled: secure !== undefined };
  const durationInSecs = Math.min(MAX_LEASE_SECS, Math.max(1, Math.ceil(leaseMs / 1000)));
  const metadata: Record<string, string> = {
    ...instance.metadata,
    ...reservedMetadata(instance, address, EUREKA_CONVENTIONS),
  };
  if (instance.service !== instance.service.toUpperCase()) metadata[SERVICE_METADATA_KEY] = instance.service;
  const web = plain ?? secure;
  const host = main.host.includes(':') ? `[${main.host}]` : main.host;
  return {
    ipAddr: main.host,
    port,
    securePort,
    app: instance.service,
    hostName: main.host,
    status: 'UP',
    vipAddress: instance.service,
    secureVipAddress: instance.service,
    ...(web ? { homePageUrl: `${web.tls ? 'https' : 'http'}://${host}:${web.port}/` } : {}),
    dataCenterInfo: DEFAULT_DATA_CENTER_INFO,
    countryId: 1,
    durationInSecs,
    renewalIntervalInSecs: Math.max(1, Math.round(durationInSecs / 3)),
    metadata,
  };
}

/** The instance as Netflix Eureka writes it: field names, types and string-typed flags. */
export function writeEurekaInstance(
  instance: ServiceInstance,
  details: EurekaDetails,
  state: EurekaInstanceState,
): EurekaInstance {
  const overridden = state.overriddenStatus ?? 'UNKNOWN';
  const out: EurekaInstance = {
    instanceId: instance.id,
    hostName: details.hostName,
    app: instance.service.toUpperCase(),
    ipAddr: details.ipAddr,
    status: state.status,
    overriddenStatus: overridden,
    overriddenstatus: overridden,
    port: eurekaPort(details.port.port, details.port.enabled),
    securePort: eurekaPort(details.securePort.port, details.securePort.enabled),
    countryId: details.countryId,
    dataCenterInfo: details.dataCenterInfo,
    leaseInfo: {
      renewalIntervalInSecs: details.renewalIntervalInSecs,
      durationInSecs: details.durationInSecs,
      registrationTimestamp: state.registeredAt,
      lastRenewalTimestamp: state.renewedAt,
      evictionTimestamp: 0,
      serviceUpTimestamp: state.registeredAt,
    },
    metadata: { ...details.metadata },
    vipAddress: details.vipAddress ?? instance.service,
    secureVipAddress: details.secureVipAddress ?? instance.service,
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: String(state.updatedAt),
    lastDirtyTimestamp: String(state.dirtyAt),
  };
  if (details.homePageUrl !== undefined) out.homePageUrl = details.homePageUrl;
  if (details.statusPageUrl !== undefined) out.statusPageUrl = details.statusPageUrl;
  if (details.healthCheckUrl !== undefined) out.healthCheckUrl = details.healthCheckUrl;
  if (state.actionType !== undefined) out.actionType = state.actionType;
  return out;
}

function readDataCenterInfo(value: unknown): Readonly<Record<string, unknown>> {
  if (value === undefined || value === null) return DEFAULT_DATA_CENTER_INFO;
  if (!isObject(value)) throw new TypeError('instance.dataCenterInfo: expected an object');
  if (JSON.stringify(value).length > MAX_DATA_CENTER_INFO_CHARS) {
    throw new TypeError(`instance.dataCenterInfo: larger than ${MAX_DATA_CENTER_INFO_CHARS} characters`);
  }
  return value;
}

function optionalText(value: Record<string, unknown>, key: string, max: number): Record<string, string> {
  const text = readText(value[key], `instance.${key}`, max);
  return text === undefined ? {} : { [key]: text };
}

function positive(value: number | undefined, fallback: number): number {
  return value === undefined || value <= 0 ? fallback : Math.min(value, MAX_LEASE_SECS);
}
