/**
 * How an instance is stored in etcd: the key `<prefix>/<service>/<id>` holds the instance as
 * JSON (the ServiceInstance fields, nothing else). Service names may contain "/", ids may not,
 * so the id is what follows the last "/".
 */
import { type ServiceInstance, validateInstance } from '../instance.ts';

export function instanceKey(prefix: string, service: string, id: string): string {
  return `${prefix}/${service}/${id}`;
}

/** The prefix of every key of `service`, with the trailing "/". */
export function serviceKeyPrefix(prefix: string, service: string): string {
  return `${prefix}/${service}/`;
}

/** `{service, id}` of a key under `prefix`, or undefined for a key of some other shape. */
export function parseKey(prefix: string, key: string): { service: string; id: string } | undefined {
  if (!key.startsWith(`${prefix}/`)) return undefined;
  const rest = key.slice(prefix.length + 1);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { service: rest.slice(0, slash), id: rest.slice(slash + 1) };
}

export function encodeInstance(instance: ServiceInstance): string {
  return JSON.stringify(instance);
}

/**
 * The instance stored under `key`; throws a TypeError naming the key and the problem when the
 * value is not JSON, not a valid instance, or names another service or id than its key.
 */
export function decodeInstance(prefix: string, key: string, value: Buffer): ServiceInstance {
  const where = parseKey(prefix, key);
  if (!where) throw new TypeError(`${key}: not a key of the form ${prefix}/<service>/<id>`);
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new TypeError(`${key}: the value is not JSON`);
  }
  let instance: ServiceInstance;
  try {
    instance = validateInstance(json);
  } catch (err) {
    throw new TypeError(`${key}: ${(err as Error).message}`);
  }
  if (instance.service !== where.service || instance.id !== where.id) {
    throw new TypeError(`${key}: holds ${instance.service}/${instance.id}, not the instance its key names`);
  }
  return instance;
}
