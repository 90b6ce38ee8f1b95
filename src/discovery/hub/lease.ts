import type { Heartbeats } from '../heartbeat-lease.ts';
import type { ServiceInstance } from '../instance.ts';
import type { HubHttp } from './hub-http.ts';

/** PUT /api/v1/instances; resolves with the ttl the hub granted. */
async function putInstance(http: HubHttp, instance: ServiceInstance, ttlMs: number): Promise<number> {
  const answer = await http.json('PUT', http.path('instances'), { instance, ttlMs });
  if (answer.status !== 200) {
    throw http.refused(`register ${instance.id} of ${instance.service}`, answer);
  }
  const granted = (answer.body as { ttlMs?: unknown }).ttlMs;
  return typeof granted === 'number' && granted > 0 ? granted : ttlMs;
}

/**
 * The registration of an instance on the hub (asking for `requestedTtlMs`), and its heartbeats
 * every third of the ttl the hub granted: `PUT …/heartbeat`, where a 404 means the hub forgot
 * the instance and it is registered again. Network trouble goes to `report`.
 */
export function hubHeartbeats(
  http: HubHttp,
  instance: ServiceInstance,
  requestedTtlMs: number,
  report: (err: Error) => void,
): Heartbeats {
  const { service, id } = instance;
  let ttlMs = requestedTtlMs;
  return {
    intervalMs: () => ttlMs / 3,
    async renew() {
      const answer = await http.json('PUT', http.path('instances', service, id, 'heartbeat'));
      if (answer.status === 404) return false;
      if (answer.status !== 200) throw http.refused(`renew the lease of ${id} of ${service}`, answer);
      return true;
    },
    async register() {
      ttlMs = await putInstance(http, instance, requestedTtlMs);
    },
    async remove() {
      const answer = await http.json('DELETE', http.path('instances', service, id));
      if (answer.status !== 200 && answer.status !== 404) {
        throw http.refused(`deregister ${id} of ${service}`, answer);
      }
    },
    onError: (err) => report(http.unreachable(err)),
  };
}
