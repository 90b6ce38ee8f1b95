import type { IncomingMessage, ServerResponse } from 'node:http';
import { INSTANCE_LIMITS, type ServiceInstance, validateInstance } from '../../discovery/instance.ts';
import { TableFullError } from '../../discovery/instance-table.ts';
import { DEFAULT_LEASE_TTL_MS } from '../../discovery/registry.ts';
import { OPEN_ACCESS } from '../access/hub-access.ts';
import { HubHttpError, parseDuration, readJson, sendError, sendJson } from '../http-kit.ts';
import type { HubApi, HubState } from './hub-api.ts';
import { WatchStreams } from './watch-streams.ts';

/** Limits and timings of Switchboard's own registry API (`/api/v1/`); every field has a default. */
export interface RegistryApiOptions {
  /** Shortest lease granted; shorter requests are raised to it. 1 s unless set. */
  minTtlMs?: number;
  /** Longest lease granted; longer requests are cut to it. 5 min unless set. */
  maxTtlMs?: number;
  /** Longest wait of a blocking query (`?index=&wait=`). 5 min unless set. */
  maxWaitMs?: number;
  /** Open watch streams at most; more get 503. 10 000 unless set. */
  maxWatchers?: number;
  /** Blocking queries waiting at once at most; more get 503. 10 000 unless set. */
  maxBlockingQueries?: number;
  /** Keep-alive comment on every watch stream this often. 15 s unless set. */
  watchHeartbeatMs?: number;
  /** A watcher that has not read its stream for this long is dropped. 60 s unless set. */
  watchStallMs?: number;
}

export const REGISTRY_API_DEFAULTS = {
  minTtlMs: 1000,
  maxTtlMs: 300_000,
  maxWaitMs: 300_000,
  /** A blocking query without `wait` waits this long. */
  defaultWaitMs: 60_000,
  maxWatchers: 10_000,
  maxBlockingQueries: 10_000,
  watchHeartbeatMs: 15_000,
  watchStallMs: 60_000,
} as const;

const PREFIX = '/api/v1/';

type Route =
  | { kind: 'register' }
  | { kind: 'heartbeat'; service: string; id: string }
  | { kind: 'deregister'; service: string; id: string }
  | { kind: 'services' }
  | { kind: 'service'; service: string }
  | { kind: 'watch'; service: string };

const METHODS: Record<Route['kind'], string> = {
  register: 'PUT',
  heartbeat: 'PUT',
  deregister: 'DELETE',
  services: 'GET',
  service: 'GET',
  watch: 'GET',
};

/**
 * Switchboard's own registry API: register with a lease, heartbeat, deregister, list (with
 * Consul-style blocking queries) and watch (server-sent events). Path segments are
 * URL-encoded, so service names may hold dots and slashes (`greet%2Fv1.Greeter`).
 */
export class RegistryApi implements HubApi {
  readonly name = 'switchboard';
  readonly #state: HubState;
  readonly #limits: Required<RegistryApiOptions>;
  readonly #watches: WatchStreams;
  #blocking = 0;

  constructor(state: HubState, options: RegistryApiOptions = {}) {
    this.#state = state;
    const limits = { ...REGISTRY_API_DEFAULTS };
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined) (limits as Record<string, number>)[key] = value;
    }
    this.#limits = limits;
    this.#watches = new WatchStreams(state.registry, {
      maxWatchers: limits.maxWatchers,
      heartbeatMs: limits.watchHeartbeatMs,
      stallMs: limits.watchStallMs,
    });
    state.closing.addEventListener('abort', () => this.#watches.close(), { once: true });
  }

  /** Open watch streams, waiting blocking queries, and bytes queued to watchers. */
  get stats(): { watchers: number; blockingQueries: number; watchBufferedBytes: number } {
    return {
      watchers: this.#watches.count,
      blockingQueries: this.#blocking,
      watchBufferedBytes: this.#watches.bufferedBytes,
    };
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean> {
    // The raw path: URL's pathname would resolve "." and ".." segments, which are valid ids.
    const raw = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (!raw.startsWith(PREFIX)) return false;
    const route = parseRoute(raw);
    if (!route) throw new HubHttpError(404, `no hub endpoint ${req.method} ${raw}`);
    const allowed = METHODS[route.kind];
    if (req.method !== allowed) {
      sendError(res, 405, `${req.method} is not allowed on ${raw}; use ${allowed}`, { allow: allowed });
      return true;
    }
    return this.#serve(route, req, res, url).then(() => true);
  }

  async #serve(route: Route, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const table = this.#state.registry;
    const access = this.#state.access ?? OPEN_ACCESS;
    // A caller that may not even connect learns nothing, not even whether its body is valid.
    access.require(req, res, 'connect');
    switch (route.kind) {
      case 'register': {
        const { instance, ttlMs } = this.#registration(await readJson(req));
        access.require(req, res, 'write', instance.service);
        try {
          const entry = table.upsert(instance, ttlMs);
          sendJson(res, 200, { index: entry.modifyIndex, ttlMs });
        } catch (err) {
          if (err instanceof TableFullError) throw new HubHttpError(507, err.message);
          throw err;
        }
        return;
      }
      case 'heartbeat': {
        access.require(req, res, 'write', route.service);
        if (!table.renew(route.service, route.id)) throw unknownInstance(route.service, route.id);
        sendJson(res, 200, { ttlMs: table.get(route.service, route.id)?.ttlMs });
        return;
      }
      case 'deregister': {
        access.require(req, res, 'write', route.service);
        if (!table.remove(route.service, route.id)) throw unknownInstance(route.service, route.id);
        sendJson(res, 200, { index: table.index });
        return;
      }
      case 'services': {
        if (await this.#block(undefined, url, res)) return;
        // Only the services the caller may read: the others are not its business.
        const services = table
          .services()
          .filter((name) => access.allows(req, res, 'read', name))
          .sort()
          .map((name) => ({ name, instances: table.list(name).length }));
        sendJson(res, 200, { services, index: table.index });
        return;
      }
      case 'service': {
        access.require(req, res, 'read', route.service);
        if (await this.#block(route.service, url, res)) return;
        sendJson(res, 200, { instances: table.list(route.service), index: table.index });
        return;
      }
      case 'watch':
        access.require(req, res, 'read', route.service);
        this.#watches.open(route.service, req, res);
        return;
    }
  }

  #registration(body: unknown): { instance: ServiceInstance; ttlMs: number } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HubHttpError(400, 'expected a JSON object {"instance": {...}, "ttlMs": 10000}');
    }
    const { instance, ttlMs } = body as { instance?: unknown; ttlMs?: unknown };
    let valid: ServiceInstance;
    try {
      valid = validateInstance(instance);
    } catch (err) {
      throw new HubHttpError(400, (err as Error).message);
    }
    if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs))) {
      throw new HubHttpError(400, 'ttlMs: expected a number of milliseconds');
    }
    const wanted = ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const granted = Math.round(Math.min(this.#limits.maxTtlMs, Math.max(this.#limits.minTtlMs, wanted)));
    return { instance: valid, ttlMs: granted };
  }

  /**
   * A blocking query: with `?index=N`, waits until `service` (every service, for undefined)
   * changes after N, for at most `wait`. Returns true when the response is gone meanwhile.
   */
  async #block(service: string | undefined, url: URL, res: ServerResponse): Promise<boolean> {
    const indexText = url.searchParams.get('index');
    if (indexText === null) return false;
    if (!/^\d{1,15}$/.test(indexText)) throw new HubHttpError(400, 'index: expected a non-negative integer');
    const index = Number(indexText);
    const waitText = url.searchParams.get('wait');
    const waitMs = Math.min(
      this.#limits.maxWaitMs,
      waitText === null ? REGISTRY_API_DEFAULTS.defaultWaitMs : parseDuration(waitText, 'wait'),
    );
    const table = this.#state.registry;
    const closing = this.#state.closing;
    // An index from before a hub restart is ahead of the new one: answer at once, the caller resets.
    if (index > table.index || closing.aborted || res.destroyed) return res.destroyed;
    if (this.#blocking >= this.#limits.maxBlockingQueries) {
      throw new HubHttpError(
        503,
        `the hub holds its limit of ${this.#limits.maxBlockingQueries} blocking queries; try again later`,
      );
    }
    const stop = new AbortController();
    const abort = () => stop.abort();
    let gone = false;
    const onClose = () => {
      gone = true;
      abort();
    };
    res.once('close', onClose);
    closing.addEventListener('abort', abort, { once: true });
    this.#blocking++;
    try {
      await table.waitForChange(service, index, waitMs, stop.signal);
    } finally {
      this.#blocking--;
      res.off('close', onClose);
      closing.removeEventListener('abort', abort);
    }
    return gone;
  }
}

/** The API as a HubServer `apis` entry. */
export function registryApi(options: RegistryApiOptions = {}): (state: HubState) => RegistryApi {
  return (state) => new RegistryApi(state, options);
}

function unknownInstance(service: string, id: string): HubHttpError {
  return new HubHttpError(404, `no instance ${id} of ${service} is registered (its lease may have expired)`);
}

function parseRoute(raw: string): Route | undefined {
  const rest = raw.slice(PREFIX.length).replace(/\/$/, '');
  const parts = rest.split('/').map(decodeSegment);
  if (parts.some((p) => p.length === 0)) return undefined;
  const [head, ...tail] = parts;
  // Unencoded slashes in a service name are accepted too: the id is found from the end.
  const service = (segments: string[]) => checkName(segments.join('/'));
  switch (head) {
    case 'instances':
      if (tail.length === 0) return { kind: 'register' };
      if (tail.length >= 3 && tail.at(-1) === 'heartbeat') {
        return { kind: 'heartbeat', service: service(tail.slice(0, -2)), id: tail.at(-2) as string };
      }
      if (tail.length >= 2) {
        return { kind: 'deregister', service: service(tail.slice(0, -1)), id: tail.at(-1) as string };
      }
      return undefined;
    case 'services':
      return tail.length === 0 ? { kind: 'services' } : { kind: 'service', service: service(tail) };
    case 'watch':
      return tail.length === 0 ? undefined : { kind: 'watch', service: service(tail) };
    default:
      return undefined;
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HubHttpError(
      400,
      `path segment ${JSON.stringify(segment.slice(0, 80))} is not URL-encoded text`,
    );
  }
}

function checkName(name: string): string {
  if (name.length > INSTANCE_LIMITS.nameLength) {
    throw new HubHttpError(400, `service: longer than ${INSTANCE_LIMITS.nameLength} characters`);
  }
  return name;
}
