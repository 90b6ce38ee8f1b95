/**
 * Eureka's JSON as Netflix Eureka writes it (its Jackson codec), and liberal readers for what
 * servers and clients actually send: numbers as strings, booleans as "true", single-element
 * lists as bare objects (XML-to-JSON converters do that), metadata with an "@class" marker.
 * Shared by the hub's Eureka API and EurekaRegistry; knows nothing of ServiceInstance.
 */

export const EUREKA_STATUSES = ['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN'] as const;
export type EurekaStatus = (typeof EUREKA_STATUSES)[number];

export type EurekaActionType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Netflix Eureka's default lease: 90 s, renewed every 30 s. */
export const DEFAULT_LEASE_DURATION_SECS = 90;
export const DEFAULT_RENEWAL_INTERVAL_SECS = 30;

export const DEFAULT_DATA_CENTER_INFO = {
  '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo',
  name: 'MyOwn',
} as const;

/** `{"$": 8080, "@enabled": "true"}`: how Eureka writes a port. */
export interface EurekaPort {
  $: number;
  '@enabled': 'true' | 'false';
}

export interface EurekaLeaseInfo {
  renewalIntervalInSecs: number;
  durationInSecs: number;
  registrationTimestamp: number;
  lastRenewalTimestamp: number;
  evictionTimestamp: number;
  serviceUpTimestamp: number;
}

/** One instance exactly as Netflix Eureka's server writes it. */
export interface EurekaInstance {
  instanceId: string;
  hostName: string;
  app: string;
  ipAddr: string;
  status: EurekaStatus;
  overriddenStatus: EurekaStatus;
  /** The older spelling; Eureka servers write both. */
  overriddenstatus: EurekaStatus;
  port: EurekaPort;
  securePort: EurekaPort;
  countryId: number;
  dataCenterInfo: Readonly<Record<string, unknown>>;
  leaseInfo: EurekaLeaseInfo;
  metadata: Record<string, string>;
  homePageUrl?: string;
  statusPageUrl?: string;
  healthCheckUrl?: string;
  vipAddress: string;
  secureVipAddress: string;
  isCoordinatingDiscoveryServer: 'true' | 'false';
  lastUpdatedTimestamp: string;
  lastDirtyTimestamp: string;
  actionType?: EurekaActionType;
}

export interface EurekaApplication {
  name: string;
  instance: EurekaInstance[];
}

/** The body of `GET /apps` and `GET /apps/delta`. */
export interface EurekaApplications {
  applications: {
    versions__delta: string;
    apps__hashcode: string;
    application: EurekaApplication[];
  };
}

export function eurekaPort(port: number, enabled: boolean): EurekaPort {
  return { $: port, '@enabled': enabled ? 'true' : 'false' };
}

/**
 * Eureka's reconcile hash code: "STATUS_count_" for every status present, statuses in
 * alphabetical order ("DOWN_1_UP_3_"). A client compares it with its own after a delta.
 */
export function reconcileHashCode(statuses: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts.keys()]
    .sort()
    .map((status) => `${status}_${counts.get(status)}_`)
    .join('');
}

// --- liberal readers ---------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A list, a single element standing for a list of one, or nothing. */
export function listOf(value: unknown): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

/** A string, or a number written as one; undefined when absent or empty. */
export function readText(value: unknown, where: string, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new TypeError(`${where}: expected a string`);
  if (value.length > max) throw new TypeError(`${where}: longer than ${max} characters`);
  return value.length === 0 ? undefined : value;
}

export function requireText(value: unknown, where: string, max: number): string {
  const text = readText(value, where, max);
  if (text === undefined) throw new TypeError(`${where}: missing`);
  return text;
}

/** A finite number, or a string holding one; undefined when absent. */
export function readNumber(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError(`${where}: expected a number`);
  return n;
}

export function readBoolean(value: unknown, where: string): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new TypeError(`${where}: expected true or false`);
}

export function readStatus(value: unknown, where: string): EurekaStatus | undefined {
  const text = readText(value, where, 32)?.toUpperCase();
  if (text === undefined) return undefined;
  if (!(EUREKA_STATUSES as readonly string[]).includes(text)) {
    throw new TypeError(`${where}: ${JSON.stringify(text)} is not one of ${EUREKA_STATUSES.join(', ')}`);
  }
  return text as EurekaStatus;
}

/**
 * A port as `{"$": 8080, "@enabled": "true"}`, or a bare number. `enabledByDefault` applies
 * when "@enabled" is missing (Eureka enables the plain port and disables the secure one).
 */
export function readPort(
  value: unknown,
  where: string,
  enabledByDefault: boolean,
): { port: number; enabled: boolean } | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = isObject(value) ? value.$ : value;
  const port = readNumber(raw, `${where}.$`);
  if (port === undefined) return undefined;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`${where}: expected a port from 0 to 65535, got ${port}`);
  }
  const flag = isObject(value) ? readBoolean(value['@enabled'], `${where}.@enabled`) : undefined;
  return { port, enabled: flag ?? enabledByDefault };
}

/** Metadata as a map of strings: numbers and booleans become text, "@class" goes. */
export function readMetadata(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null || value === '') return {};
  if (!isObject(value)) throw new TypeError(`${where}: expected an object`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '@class') continue;
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new TypeError(`${where}.${key}: expected a string`);
    }
    out[key] = String(v);
  }
  return out;
}

/** The applications of an `{"applications": …}` body, each with its instance list. */
export function readApplications(body: unknown): { name: string; instances: unknown[] }[] {
  if (!isObject(body) || !isObject(body.applications)) {
    throw new TypeError('expected {"applications": {...}}');
  }
  return listOf(body.applications.application).map((app, i) => readApplication(app, i));
}

/** The application of an `{"application": …}` body, or one element of an applications list. */
export function readApplication(app: unknown, index = 0): { name: string; instances: unknown[] } {
  if (!isObject(app)) throw new TypeError(`application[${index}]: expected an object`);
  const name = requireText(app.name, `application[${index}].name`, 1024);
  return { name, instances: listOf(app.instance) };
}

/** The `apps__hashcode` of an applications body, or undefined when absent. */
export function readHashCode(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.applications)) return undefined;
  const hash = body.applications.apps__hashcode;
  return typeof hash === 'string' ? hash : undefined;
}
