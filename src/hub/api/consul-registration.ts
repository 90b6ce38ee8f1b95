/**
 * Reads the body of PUT /v1/agent/service/register as a Consul agent does: field names in any
 * case, with or without underscores (python-consul sends "name", "ttl"; Consul's own clients
 * send "Name", "TTL"; HCL-minded ones "deregister_critical_service_after"), unknown fields
 * ignored, durations as Go strings or nanoseconds. Refusals are HubHttpError(400) with
 * Consul's wording where Consul has one.
 */

import { parseGoDuration } from '../../discovery/consul/duration.ts';
import { consulMetaProblem, consulToInstance } from '../../discovery/consul/mapping.ts';
import { ENDPOINTS_METADATA_KEY, type ServiceInstance } from '../../discovery/instance.ts';
import type { HealthState } from '../../discovery/instance-table.ts';
import { HubHttpError } from '../http-kit.ts';

/** A service's TTL check, the one kind of check the hub keeps. */
export interface ConsulCheckDefinition {
  /** Given at registration; else the agent names it "service:<id>". */
  checkId?: string;
  name?: string;
  notes?: string;
  ttlMs: number;
  deregisterCriticalAfterMs?: number;
  /** The status it starts with; Consul starts a TTL check critical. */
  status: HealthState;
}

export interface ConsulRegistration {
  instance: ServiceInstance;
  check?: ConsulCheckDefinition;
}

const STATUSES: readonly HealthState[] = ['passing', 'warning', 'critical'];
/** Fields of check kinds the hub does not run: it has no prober, only TTL checks. */
const PROBE_FIELDS = ['http', 'tcp', 'grpc', 'script', 'args', 'h2ping', 'udp', 'dockercontainerid'];
const ALIAS_FIELDS = ['aliasservice', 'aliasnode'];
const MAX_TAGS_JSON = 1024;

/** Field names as Consul matches them: case-insensitively, underscores ignored. */
export function consulFields(value: unknown, what: string): Map<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw decodeError(`${what}: expected a JSON object`);
  }
  const out = new Map<string, unknown>();
  for (const [key, v] of Object.entries(value)) out.set(key.toLowerCase().replaceAll('_', ''), v);
  return out;
}

export function parseRegistration(body: unknown, agentAddress: string): ConsulRegistration {
  const f = consulFields(body, 'service definition');
  const name = optionalString(f, 'name', 'Name') ?? '';
  if (name === '') throw new HubHttpError(400, 'Missing service name');
  const id = optionalString(f, 'id', 'ID') || name;
  const address = optionalString(f, 'address', 'Address') ?? '';
  if (['0.0.0.0', '::', '[::]'].includes(address)) throw new HubHttpError(400, 'Invalid service address');
  const kind = optionalString(f, 'kind', 'Kind') ?? '';
  if (kind !== '' && kind !== 'typical') {
    throw new HubHttpError(
      400,
      `Invalid service kind ${JSON.stringify(kind)}: the hub keeps typical services only`,
    );
  }
  const port = parsePort(f.get('port'));
  const tags = parseTags(f.get('tags'));
  const meta = parseMeta(f.get('meta'));
  const problem = consulMetaProblem(meta);
  if (problem) throw new HubHttpError(400, `Invalid Service Meta: ${problem}`);

  let instance: ServiceInstance;
  try {
    instance = consulToInstance({ id, name, address, port, tags, meta }, agentAddress);
  } catch (err) {
    if (port === 0 && meta[ENDPOINTS_METADATA_KEY] === undefined) {
      throw new HubHttpError(400, 'Invalid Port: the hub needs a Port from 1 to 65535 to list a service');
    }
    throw new HubHttpError(400, `Invalid service: ${(err as Error).message}`);
  }

  const checks = [...listOf(f.get('check'), 'Check'), ...arrayOf(f.get('checks'))];
  if (checks.length > 1) {
    throw new HubHttpError(400, `the hub keeps one TTL check per service, got ${checks.length}`);
  }
  const [check] = checks;
  return check === undefined ? { instance } : { instance, check: parseCheck(check) };
}

function parseCheck(value: unknown): ConsulCheckDefinition {
  const f = consulFields(value, 'Check');
  const status = optionalString(f, 'status', 'Status') ?? '';
  if (status !== '' && !STATUSES.includes(status as HealthState)) {
    throw new HubHttpError(400, "Status for checks must 'passing', 'warning', 'critical'");
  }
  const ttlRaw = f.get('ttl');
  const hasTtl = ttlRaw !== undefined && ttlRaw !== null && ttlRaw !== '' && ttlRaw !== 0;
  if (!hasTtl) {
    if (PROBE_FIELDS.some((k) => f.get(k)) || ALIAS_FIELDS.some((k) => f.get(k))) {
      throw new HubHttpError(
        400,
        'the hub runs no HTTP, TCP, gRPC, script or alias checks: give the service a TTL check and pass it',
      );
    }
    throw new HubHttpError(400, 'Must provide TTL or Script/DockerContainerID/HTTP/TCP and Interval');
  }
  const ttlMs = duration(ttlRaw, 'TTL');
  if (ttlMs <= 0) throw new HubHttpError(400, 'Request decode failed: TTL must be greater than zero');
  const check: ConsulCheckDefinition = { ttlMs, status: (status || 'critical') as HealthState };
  const dereg = f.get('deregistercriticalserviceafter');
  if (dereg !== undefined && dereg !== null && dereg !== '') {
    check.deregisterCriticalAfterMs = duration(dereg, 'DeregisterCriticalServiceAfter');
  }
  const checkId = optionalString(f, 'checkid', 'CheckID') || optionalString(f, 'id', 'ID');
  if (checkId) {
    if (checkId.length > 256) throw new HubHttpError(400, 'Invalid CheckID: longer than 256 characters');
    check.checkId = checkId;
  }
  const name = optionalString(f, 'name', 'Name');
  if (name) check.name = name.slice(0, 256);
  const notes = optionalString(f, 'notes', 'Notes');
  if (notes) check.notes = notes.slice(0, 4096);
  return check;
}

function duration(value: unknown, field: string): number {
  try {
    return parseGoDuration(value);
  } catch (err) {
    throw decodeError(`${field}: ${(err as Error).message}`);
  }
}

function parsePort(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw decodeError(`Port: expected an integer, got ${JSON.stringify(value)?.slice(0, 40)}`);
  }
  if (value < 0 || value > 65535)
    throw new HubHttpError(400, `Invalid Port: ${value} is not from 1 to 65535`);
  return value;
}

function parseTags(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string')) {
    throw decodeError('Tags: expected an array of strings');
  }
  if (JSON.stringify(value).length > MAX_TAGS_JSON) {
    throw new HubHttpError(400, `Invalid Tags: more than ${MAX_TAGS_JSON} characters in all`);
  }
  return value;
}

function parseMeta(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw decodeError('Meta: expected an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw decodeError(`Meta.${k.slice(0, 40)}: expected a string`);
    out[k] = v;
  }
  return out;
}

function optionalString(f: Map<string, unknown>, key: string, field: string): string | undefined {
  const value = f.get(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw decodeError(`${field}: expected a string`);
  return value;
}

function listOf(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw decodeError(`${field}: expected an object`);
  return [value];
}

function arrayOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw decodeError('Checks: expected an array');
  return value;
}

function decodeError(message: string): HubHttpError {
  return new HubHttpError(400, `Request decode failed: ${message}`);
}
