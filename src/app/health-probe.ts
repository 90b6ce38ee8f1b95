import { request } from 'undici';
import type { HealthProbe } from '../cluster/health-prober.ts';
import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import { createClient } from '../core/client.ts';
import type { ClientTransport } from '../core/transport.ts';
import { type Endpoint, endpointTarget } from '../discovery/instance.ts';
import { HEALTH_SERVICE_NAME, type HealthMethods, healthContract } from '../services/health.ts';
import { endpointTransport } from './connect.ts';

/**
 * What a probe found. SERVING and NOT_SERVING are the server's own verdict; SERVICE_UNKNOWN
 * means it has a health service that does not know the name; UNKNOWN that it answered without
 * a verdict (no health service, no /healthz); UNREACHABLE that it did not answer at all.
 */
export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNKNOWN' | 'UNREACHABLE';

const SERVING_STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export interface HealthReport {
  status: HealthStatus;
  /** The endpoint probed, as a target. */
  endpoint: string;
  /** Why, when the status alone does not say: "connection refused", "HTTP 503". */
  detail?: string;
}

/**
 * Probes one endpoint: grpc.health.v1.Health/Check for `service` over its transport (every
 * Switchboard server serves it on all three); an HTTP server that does not know it (404) is
 * asked GET /healthz instead, which most REST services answer. Never throws; gives up after
 * `timeoutMs`. Over `transport` when given (a cluster's connection to the instance), else
 * over a connection of its own.
 */
export async function probeHealth(
  endpoint: Endpoint,
  service: string,
  timeoutMs: number,
  transport?: ClientTransport,
): Promise<HealthReport> {
  const target = endpointTarget(endpoint);
  const report = (status: HealthStatus, detail?: string): HealthReport =>
    detail === undefined ? { status, endpoint: target } : { status, endpoint: target, detail };
  const own = transport ? undefined : endpointTransport(endpoint);
  const via = transport ?? (own as ClientTransport);
  try {
    const health = createClient<HealthMethods>(healthContract().service(HEALTH_SERVICE_NAME), via);
    const answer = await health.check({ service }, { timeoutMs, parent: null });
    // protobufjs may decode the enum as its name or its number.
    const raw = answer.status ?? 0;
    const status = typeof raw === 'number' ? (SERVING_STATUS_NAMES[raw] ?? String(raw)) : String(raw);
    if (status === 'SERVING' || status === 'NOT_SERVING' || status === 'SERVICE_UNKNOWN')
      return report(status);
    return report('UNKNOWN', `health status ${status}`);
  } catch (e) {
    const err = StatusError.from(e);
    const unknownRoute = err.code === Status.UNIMPLEMENTED || err.code === Status.NOT_FOUND;
    if (endpoint.transport === 'http' && unknownRoute) return httpProbe(target, timeoutMs, report);
    switch (err.code) {
      case Status.UNIMPLEMENTED:
        return report('UNKNOWN', `no ${HEALTH_SERVICE_NAME} service`);
      case Status.NOT_FOUND:
        return report('SERVICE_UNKNOWN');
      case Status.UNAVAILABLE:
        return report('UNREACHABLE', reason(err.message));
      case Status.DEADLINE_EXCEEDED:
        return report('UNREACHABLE', `no answer within ${timeoutMs} ms`);
      default:
        return report('UNKNOWN', `${err.codeName}: ${err.message}`);
    }
  } finally {
    await own?.close();
  }
}

async function httpProbe(
  target: string,
  timeoutMs: number,
  report: (status: HealthStatus, detail?: string) => HealthReport,
): Promise<HealthReport> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(`${target}/healthz`, {
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return report('SERVING');
    if (res.statusCode >= 500) return report('NOT_SERVING', `HTTP ${res.statusCode}`);
    return report('UNKNOWN', res.statusCode === 404 ? 'no /healthz' : `HTTP ${res.statusCode}`);
  } catch (err) {
    if (signal.aborted) return report('UNREACHABLE', `no answer within ${timeoutMs} ms`);
    const e = err as { code?: string; message?: string; cause?: { code?: string } };
    return report('UNREACHABLE', reason(`${e.code ?? ''} ${e.cause?.code ?? ''} ${e.message ?? ''}`));
  }
}

/** A transport's "cannot connect to h:p: connect ECONNREFUSED h:p" in a few words. */
function reason(message: string): string {
  const words: [RegExp, string][] = [
    [/ECONNREFUSED/, 'connection refused'],
    [/ECONNRESET/, 'connection reset'],
    [/ENOTFOUND|EAI_AGAIN/, 'host not found'],
    [/ETIMEDOUT|CONNECT_TIMEOUT/, 'connection timed out'],
    [/EHOSTUNREACH/, 'host unreachable'],
    [/ENETUNREACH/, 'network unreachable'],
  ];
  for (const [pattern, text] of words) if (pattern.test(message)) return text;
  return message.trim();
}

/**
 * Whether an instance is up: it answered and did not say NOT_SERVING. A server without a
 * health service (most non-Switchboard ones) counts as up: it answered, and cannot say more.
 */
export function isUp(report: HealthReport): boolean {
  return report.status !== 'UNREACHABLE' && report.status !== 'NOT_SERVING';
}

/**
 * The cluster's probe: probeHealth over the cluster's own connection to the instance. An
 * instance that does not know the service (SERVICE_UNKNOWN) cannot serve it either.
 */
export function standardHealthProbe(service: string, timeoutMs = 1000): HealthProbe {
  return async (member) => {
    const report = await probeHealth(member.endpoint, service, timeoutMs, member.transport);
    return isUp(report) && report.status !== 'SERVICE_UNKNOWN';
  };
}
