/** A hub with only the Eureka API on a free port, and helpers that talk to it as Eureka clients do. */
import { type EurekaApiOptions, eurekaApiWith } from '../../src/hub/api/eureka-api.ts';
import { HubServer } from '../../src/hub/server.ts';

export interface Answer {
  status: number;
  /** The body as JSON, or undefined when it is not JSON. */
  body: unknown;
  text: string;
}

export type Caller = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<Answer>;

export interface EurekaHub {
  hub: HubServer;
  call: Caller;
  /** POSTs `javaInstance(app, id, overrides)` under `prefix`. */
  register(app: string, id: string, overrides?: Record<string, unknown>, prefix?: string): Promise<Answer>;
}

export async function startEurekaHub(options: EurekaApiOptions = {}): Promise<EurekaHub> {
  const hub = new HubServer({ port: 0, apis: [eurekaApiWith(options)] });
  await hub.listen();
  const call: Caller = async (method, path, body, headers = {}) => {
    const sent: Record<string, string> = { accept: 'application/json', ...headers };
    if (body !== undefined) sent['content-type'] ??= 'application/json';
    const res = await fetch(hub.url + path, {
      method,
      headers: sent,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  };
  const register = (app: string, id: string, overrides: Record<string, unknown> = {}, prefix = '/eureka') =>
    call('POST', `${prefix}/apps/${app}`, { instance: javaInstance(app, id, overrides) });
  return { hub, call, register };
}

/** The `error` of a hub refusal. */
export function errorOf(answer: Answer): string {
  return (answer.body as { error?: string } | undefined)?.error ?? '';
}

/** A registration as the Java client sends it (JSON codec). */
export function javaInstance(
  app: string,
  id: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    instanceId: id,
    hostName: 'orders-host',
    app,
    ipAddr: '10.0.0.7',
    status: 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { $: 8080, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
    metadata: { 'management.port': '8081', zone: 'zone-b' },
    homePageUrl: 'http://10.0.0.7:8080/',
    statusPageUrl: 'http://10.0.0.7:8080/actuator/info',
    healthCheckUrl: 'http://10.0.0.7:8080/actuator/health',
    vipAddress: app.toLowerCase(),
    secureVipAddress: app.toLowerCase(),
    lastDirtyTimestamp: '1000',
    ...overrides,
  };
}
