import { request } from 'undici';
import type { HealthProbe } from '../cluster/health-prober.ts';
import { StatusError } from '../contract/errors.ts';
import { Metadata } from '../contract/metadata.ts';
import { Status } from '../contract/status.ts';
import { endpointTarget } from '../discovery/instance.ts';
import { HEALTH_SERVICE_NAME, healthContract } from '../services/health.ts';

/** A probe's own deadline on the wire; the prober's timeout (its signal) usually ends it first. */
const PROBE_DEADLINE_MS = 10_000;

/**
 * The standard probe: grpc.health.v1.Health/Check for `service` over the instance's endpoint
 * (every Switchboard server serves it on every transport). A server without the health
 * service (UNIMPLEMENTED) is asked `GET /healthz` instead when it speaks HTTP, which most REST
 * services answer; a gRPC one is taken as healthy, as grpc-go does: it cannot say otherwise.
 */
export function standardHealthProbe(service: string): HealthProbe {
  const check = healthContract().service(HEALTH_SERVICE_NAME).method('Check');
  if (!check) throw new Error('the bundled health.proto has no Check method');
  return async (member, signal) => {
    const call = {
      method: check,
      metadata: new Metadata(),
      deadline: Date.now() + PROBE_DEADLINE_MS,
      signal,
      onHeaders: undefined,
      onTrailers: undefined,
    };
    try {
      const answer = (await member.transport.unary(call, { service })) as { status?: unknown };
      return answer.status === 'SERVING' || answer.status === 1;
    } catch (err) {
      if (!(err instanceof StatusError) || err.code !== Status.UNIMPLEMENTED) return false;
      if (member.endpoint.transport !== 'http') return true;
      const res = await request(`${endpointTarget(member.endpoint)}/healthz`, { signal });
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300;
    }
  };
}
