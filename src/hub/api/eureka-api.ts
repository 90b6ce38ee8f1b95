import type { IncomingMessage, ServerResponse } from 'node:http';
import { readEurekaInstance, sameApp } from '../../discovery/eureka/mapping.ts';
import { type EurekaInstance, isObject, readNumber, readStatus } from '../../discovery/eureka/wire.ts';
import { type TableEntry, TableFullError } from '../../discovery/instance-table.ts';
import { type HubAccess, OPEN_ACCESS } from '../access/hub-access.ts';
import { HubHttpError, readJson, sendJson } from '../http-kit.ts';
import type { RecentChangesOptions } from './eureka-recent-changes.ts';
import { EurekaView } from './eureka-view.ts';
import type { HubApi, HubState } from './hub-api.ts';

/**
 * Netflix Eureka's REST API on the hub, under /eureka and /eureka/v2, so Eureka clients (the
 * Java client, eureka-js-client, Steeltoe) register and discover through it. JSON only. See
 * docs/discovery.md#eureka for what it answers and how it differs from Netflix Eureka.
 */
export type EurekaApiOptions = RecentChangesOptions;

/** The Eureka API with default options, for `new HubServer({ apis: [eurekaApi] })`. */
export function eurekaApi(state: HubState): HubApi {
  return eurekaApiWith()(state);
}

/** The Eureka API with options (a shorter delta window, for tests). */
export function eurekaApiWith(options: EurekaApiOptions = {}): (state: HubState) => HubApi {
  return (state) => {
    const view = new EurekaView(state.registry, options);
    state.closing.addEventListener('abort', () => view.close(), { once: true });
    return {
      name: 'eureka',
      handle: (req, res, url) => handle(view, state.access ?? OPEN_ACCESS, req, res, url),
    };
  };
}

const PREFIX = /^\/eureka(?:\/v2)?(?=\/|$)/;

/** The request's right to read and change instances, as the hub's access policy says. */
interface Guard {
  /** Throws 401/403 unless the caller may do `action` on the service of `entry`. */
  entry(action: 'read' | 'write', entry: TableEntry): TableEntry;
  write(service: string): void;
  /** Whether the caller may read the app (Eureka's upper-case name of a service). */
  readsApp(app: string): boolean;
}

function guard(view: EurekaView, access: HubAccess, req: IncomingMessage, res: ServerResponse): Guard {
  // Eureka upper-cases app names: a grant on shop.v1.Orders covers SHOP.V1.ORDERS.
  const sources = { ignoreCase: true };
  let readableApps: Set<string> | undefined;
  return {
    entry(action, entry) {
      access.require(req, res, action, entry.instance.service, sources);
      return entry;
    },
    write: (service) => access.require(req, res, 'write', service, sources),
    readsApp(app) {
      readableApps ??= new Set(
        view
          .services()
          .filter((s) => access.allows(req, res, 'read', s, sources))
          .map((s) => s.toUpperCase()),
      );
      return readableApps.has(app.toUpperCase()) || access.allows(req, res, 'read', app, sources);
    },
  };
}

async function handle(
  view: EurekaView,
  access: HubAccess,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const prefix = PREFIX.exec(url.pathname);
  if (!prefix) return false;
  access.require(req, res, 'connect');
  const may = guard(view, access, req, res);
  const path = segments(url.pathname.slice(prefix[0].length));
  const method = req.method ?? 'GET';
  const [resource, app, id, sub] = path;
  if (resource === 'apps' && path.length <= 4) {
    if (app === undefined) return get(req, res, method, () => view.applications((i) => may.readsApp(i.app)));
    if (app === 'delta' && path.length === 2) {
      return get(req, res, method, () => {
        const body = view.delta();
        body.applications.application = body.applications.application.filter((a) => may.readsApp(a.name));
        return body;
      });
    }
    if (id === undefined) {
      if (method === 'POST') return register(view, may, req, res, app);
      return get(
        req,
        res,
        method,
        () => {
          if (!may.readsApp(app)) access.require(req, res, 'read', app, { ignoreCase: true });
          return { application: application(view, app) };
        },
        'GET, POST',
      );
    }
    if (sub === undefined) return instance(view, may, req, res, method, app, id, url);
    if (sub === 'status') return status(view, may, res, method, app, id, url);
    if (sub === 'metadata') return metadata(view, may, res, method, app, id, url);
  }
  if (resource === 'instances' && app !== undefined && path.length === 2) {
    return get(req, res, method, () => ({
      instance: view.render(may.entry('read', known(view.findById(app), app))),
    }));
  }
  if ((resource === 'vips' || resource === 'svips') && app !== undefined && path.length === 2) {
    const field = resource === 'vips' ? 'vipAddress' : 'secureVipAddress';
    return get(req, res, method, () => {
      const body = view.applications((i) => (i[field] ?? '').split(',').includes(app) && may.readsApp(i.app));
      if (body.applications.application.length === 0)
        throw new HubHttpError(404, `no instance has ${field} ${app}`);
      return body;
    });
  }
  throw new HubHttpError(404, `no Eureka endpoint ${method} ${url.pathname}`);
}

/** The path after the prefix, split and decoded; a trailing slash is ignored. */
function segments(rest: string): string[] {
  const parts = rest.split('/').filter((part, i, all) => i > 0 && !(part === '' && i === all.length - 1));
  try {
    return parts.map((part) => decodeURIComponent(part));
  } catch {
    throw new HubHttpError(400, `malformed percent-encoding in path ${JSON.stringify(rest)}`);
  }
}

function get(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  body: () => unknown,
  allow = 'GET',
): boolean {
  if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, method, allow);
  const accept = req.headers.accept;
  if (accept !== undefined && !/json|\*\/\*|application\/\*/i.test(accept)) {
    throw new HubHttpError(406, `the hub's Eureka API answers in JSON only; send Accept: application/json`);
  }
  sendJson(res, 200, body());
  return true;
}

function done(res: ServerResponse, status = 200): true {
  res.writeHead(status, status === 204 ? {} : { 'content-length': 0 });
  res.end();
  return true;
}

function notAllowed(res: ServerResponse, method: string, allow: string): true {
  sendJson(res, 405, { error: `method ${method} is not allowed here; use ${allow}` }, { allow });
  return true;
}

function application(view: EurekaView, app: string): { name: string; instance: EurekaInstance[] } {
  const entries = view.entries(app);
  if (entries.length === 0) throw new HubHttpError(404, `no application ${app.toUpperCase()}`);
  return { name: app.toUpperCase(), instance: entries.map((e) => view.render(e)) };
}

function known(entry: TableEntry | undefined, what: string): TableEntry {
  if (!entry) throw new HubHttpError(404, `no instance ${what}`);
  return entry;
}

async function register(
  view: EurekaView,
  may: Guard,
  req: IncomingMessage,
  res: ServerResponse,
  app: string,
): Promise<true> {
  if (/xml/i.test(req.headers['content-type'] ?? '')) {
    throw new HubHttpError(
      415,
      `the hub's Eureka API reads JSON only: send the instance as Content-Type: application/json`,
    );
  }
  const body = await readJson(req);
  if (!isObject(body) || !isObject(body.instance)) {
    throw new HubHttpError(400, 'expected a body {"instance": {...}}');
  }
  let registration: ReturnType<typeof readEurekaInstance>;
  try {
    registration = readEurekaInstance(body.instance);
  } catch (err) {
    throw new HubHttpError(400, (err as Error).message);
  }
  if (!sameApp(registration.details.app, app)) {
    throw new HubHttpError(
      400,
      `mismatched app name: the path says ${app.toUpperCase()}, instance.app says ${registration.details.app}`,
    );
  }
  may.write(registration.instance.service);
  try {
    view.register(registration);
  } catch (err) {
    if (err instanceof TableFullError) throw new HubHttpError(503, err.message);
    throw err;
  }
  return done(res, 204);
}

function instance(
  view: EurekaView,
  may: Guard,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  app: string,
  id: string,
  url: URL,
): boolean {
  if (method === 'GET' || method === 'HEAD') {
    return get(req, res, method, () => ({
      instance: view.render(may.entry('read', known(view.find(app, id), `${app}/${id}`))),
    }));
  }
  const entry = view.find(app, id);
  if (entry && (method === 'PUT' || method === 'DELETE')) may.entry('write', entry);
  if (method === 'PUT') {
    // A heartbeat. 404 tells the client to register again, as Eureka does.
    const reported = query(url, 'status', readStatus);
    const dirty = query(url, 'lastDirtyTimestamp', readNumber);
    if (!entry) throw new HubHttpError(404, `no instance ${app.toUpperCase()}/${id}: register it again`);
    if (view.renew(entry, reported, dirty) === 'stale') {
      throw new HubHttpError(
        404,
        `instance ${app.toUpperCase()}/${id} changed since it registered: register again`,
      );
    }
    return done(res);
  }
  if (method === 'DELETE') {
    view.cancel(known(entry, `${app.toUpperCase()}/${id}`));
    return done(res);
  }
  return notAllowed(res, method, 'GET, PUT, DELETE');
}

function status(
  view: EurekaView,
  may: Guard,
  res: ServerResponse,
  method: string,
  app: string,
  id: string,
  url: URL,
): true {
  if (method !== 'PUT' && method !== 'DELETE') return notAllowed(res, method, 'PUT, DELETE');
  const value = query(url, 'value', readStatus);
  const entry = may.entry('write', known(view.find(app, id), `${app.toUpperCase()}/${id}`));
  if (method === 'PUT') {
    if (!value) throw new HubHttpError(400, 'expected ?value=UP|DOWN|STARTING|OUT_OF_SERVICE|UNKNOWN');
    view.setOverride(entry, value);
  } else {
    view.clearOverride(entry, value);
  }
  return done(res);
}

function metadata(
  view: EurekaView,
  may: Guard,
  res: ServerResponse,
  method: string,
  app: string,
  id: string,
  url: URL,
): true {
  if (method !== 'PUT') return notAllowed(res, method, 'PUT');
  const entry = may.entry('write', known(view.find(app, id), `${app.toUpperCase()}/${id}`));
  const changes = Object.fromEntries(url.searchParams);
  if (Object.keys(changes).length === 0) throw new HubHttpError(400, 'expected ?key=value pairs to set');
  try {
    view.updateMetadata(entry, changes);
  } catch (err) {
    if (err instanceof TypeError) throw new HubHttpError(400, err.message);
    throw err;
  }
  return done(res);
}

/** A query parameter read with a wire reader; its TypeError becomes a 400. */
function query<T>(
  url: URL,
  name: string,
  read: (value: unknown, where: string) => T | undefined,
): T | undefined {
  const value = url.searchParams.get(name);
  if (value === null) return undefined;
  try {
    return read(value, name);
  } catch (err) {
    throw new HubHttpError(400, (err as Error).message);
  }
}
