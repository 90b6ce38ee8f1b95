/**
 * The Consul agent, health, catalog and status endpoints the hub answers, so Consul clients
 * (python-consul, the npm `consul` package, ConsulRegistry) work against it unchanged. What
 * the subset is and how it differs from Consul: docs/discovery.md#consul.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseGoDuration } from '../../discovery/consul/duration.ts';
import { type HealthState, type TableEntry, TableFullError } from '../../discovery/instance-table.ts';
import { readBodyAsync } from '../../transports/http/body-reader.ts';
import { closeAfterAnswer } from '../../transports/http/response-writer.ts';
import { OPEN_ACCESS } from '../access/hub-access.ts';
import type { HubAction } from '../access/policy.ts';
import { HubHttpError, MAX_HUB_BODY_BYTES } from '../http-kit.ts';
import { ConsulCheckBook } from './consul-checks.ts';
import { consulFields, parseRegistration } from './consul-registration.ts';
import {
  agentSelfView,
  agentServiceView,
  type ConsulNode,
  catalogEntryView,
  checkView,
  DATACENTER,
  healthEntryView,
  serviceFields,
} from './consul-views.ts';
import type { HubApi, HubState } from './hub-api.ts';

/** Consul's defaults for blocking queries: 5 minutes unless asked, 10 at most. */
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;
/** Consul truncates a check's output beyond this (agent/checks CheckBufSize). */
const CHECK_OUTPUT_BYTES = 4 * 1024;

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, rest: string) => Promise<void> | void;
interface Route {
  prefix: string;
  /** True: the path continues after the prefix (a name or id); false: the path is the prefix. */
  takesRest: boolean;
  methods: readonly string[];
  handler: Handler;
}

export function consulApi(state: HubState): HubApi {
  const table = state.registry;
  const book = new ConsulCheckBook(table);
  const nodeId = randomUUID();
  const access = state.access ?? OPEN_ACCESS;
  /** Consul clients send their token as X-Consul-Token or ?token=, besides Authorization. */
  const require = (req: IncomingMessage, res: ServerResponse, action: HubAction, service?: string) =>
    access.require(req, res, action, service, { consul: true });
  const readable = (req: IncomingMessage, res: ServerResponse) => (entry: TableEntry) =>
    access.allows(req, res, 'read', entry.instance.service, { consul: true });

  const node = (req: IncomingMessage): ConsulNode => ({ id: nodeId, address: agentAddress(req) });

  /** Answers with the table's index and Consul's consistency headers. */
  const reply = (res: ServerResponse, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...queryHeaders(table.index),
    });
    res.end(text);
  };

  /** Waits as a blocking query asks (?index=N&wait=Xs) for `service` (undefined: any) to change. */
  const block = async (res: ServerResponse, url: URL, service?: string) => {
    const index = parseIndex(url.searchParams.get('index'));
    if (index === 0) return;
    const waitText = url.searchParams.get('wait');
    let waitMs = DEFAULT_WAIT_MS;
    if (waitText !== null && waitText !== '') {
      try {
        waitMs = parseGoDuration(/^\d+$/.test(waitText) ? `${waitText}s` : waitText);
      } catch {
        throw new HubHttpError(400, `Invalid wait time: ${JSON.stringify(waitText.slice(0, 40))}`);
      }
    }
    waitMs = Math.min(waitMs, MAX_WAIT_MS);
    // Consul adds up to wait/16 so that many watchers do not all wake at once.
    waitMs += Math.random() * (waitMs / 16);
    const gone = new AbortController();
    const onClose = () => gone.abort();
    res.once('close', onClose);
    try {
      await table.waitForChange(service, index, waitMs, AbortSignal.any([gone.signal, state.closing]));
    } finally {
      res.off('close', onClose);
    }
  };

  const register: Handler = async (req, res) => {
    const { instance, check } = parseRegistration(await readConsulJson(req), agentAddress(req));
    require(req, res, 'write', instance.service);
    const previous = table.findById(instance.id);
    if (previous && previous.instance.service !== instance.service) {
      require(req, res, 'write', previous.instance.service);
    }
    if (
      previous &&
      previous.instance.service !== instance.service &&
      book.has(previous.instance.service, instance.id)
    ) {
      // One agent, one service per ID: registering the ID under another name moves it.
      table.remove(previous.instance.service, instance.id);
    }
    try {
      if (check) {
        table.upsert(instance, check.ttlMs, {
          onExpiry: 'critical',
          removeAfterCriticalMs: check.deregisterCriticalAfterMs,
          health: check.status,
        });
      } else {
        table.upsert(instance, Number.POSITIVE_INFINITY);
      }
      book.set(instance.service, instance.id, check);
    } catch (err) {
      if (err instanceof TableFullError) throw new HubHttpError(500, err.message);
      throw err;
    }
    empty(res);
  };

  const deregister: Handler = (req, res, _url, rest) => {
    const id = decodePart(rest);
    const entry = table.findById(id);
    if (entry) require(req, res, 'write', entry.instance.service);
    if (!entry) {
      throw new HubHttpError(
        404,
        `Unknown service ID ${JSON.stringify(id)}. Ensure that the service ID is passed, not the service name.`,
      );
    }
    table.remove(entry.instance.service, id);
    empty(res);
  };

  const updateCheck = (
    req: IncomingMessage,
    res: ServerResponse,
    checkIdText: string,
    health: HealthState,
    output: string,
  ) => {
    const checkId = decodePart(checkIdText);
    const entry = book.resolve(checkId);
    if (entry) require(req, res, 'write', entry.instance.service);
    if (!entry) {
      throw new HubHttpError(
        404,
        `Unknown check ID ${JSON.stringify(checkId)}. Ensure that the check ID is passed, not the check name.`,
      );
    }
    table.renew(entry.instance.service, entry.instance.id, health, truncateOutput(output));
    empty(res);
  };

  const checkStatus =
    (health: HealthState): Handler =>
    (req, res, url, rest) =>
      updateCheck(req, res, rest, health, url.searchParams.get('note') ?? '');

  const checkUpdate: Handler = async (req, res, _url, rest) => {
    const f = consulFields(await readConsulJson(req), 'check update');
    const status = f.get('status');
    if (status !== 'passing' && status !== 'warning' && status !== 'critical') {
      throw new HubHttpError(400, `Invalid check status: '${String(status).slice(0, 40)}'`);
    }
    const output = f.get('output') ?? '';
    if (typeof output !== 'string')
      throw new HubHttpError(400, 'Request decode failed: Output: expected a string');
    updateCheck(req, res, rest, status, output);
  };

  const healthService: Handler = async (req, res, url, rest) => {
    const name = decodePart(rest);
    const passing = parseBoolParam(url, 'passing');
    const tags = url.searchParams.getAll('tag');
    require(req, res, 'read', name);
    await block(res, url, name);
    if (res.destroyed) return;
    const entries = sorted(table.entries(name))
      .filter((e) => !passing || e.health === 'passing')
      .map((e) => healthEntryView(e, node(req), book))
      .filter((view) => tags.every((t) => view.Service.Tags.includes(t)));
    reply(res, entries);
  };

  const catalogServices: Handler = async (req, res, url) => {
    await block(res, url);
    if (res.destroyed) return;
    const out: Record<string, string[]> = {};
    for (const name of table.services().sort()) {
      if (!access.allows(req, res, 'read', name, { consul: true })) continue;
      const tags = new Set<string>();
      for (const entry of table.entries(name)) for (const t of serviceFields(entry).Tags) tags.add(t);
      out[name] = [...tags];
    }
    reply(res, out);
  };

  const catalogService: Handler = async (req, res, url, rest) => {
    const name = decodePart(rest);
    const tags = url.searchParams.getAll('tag');
    require(req, res, 'read', name);
    await block(res, url, name);
    if (res.destroyed) return;
    reply(
      res,
      sorted(table.entries(name))
        .map((e) => catalogEntryView(e, node(req)))
        .filter((view) => tags.every((t) => view.ServiceTags.includes(t))),
    );
  };

  const agentServices: Handler = (req, res) => {
    const out: Record<string, ReturnType<typeof agentServiceView>> = {};
    for (const entry of sorted(table.all().filter(readable(req, res))))
      out[entry.instance.id] = agentServiceView(entry);
    reply(res, out);
  };

  const agentChecks: Handler = (req, res) => {
    const out: Record<string, ReturnType<typeof checkView>> = {};
    for (const entry of sorted(table.all().filter(readable(req, res)))) {
      const check = book.describe(entry);
      if (check) out[check.checkId] = checkView(entry, check, serviceFields(entry).Tags);
    }
    reply(res, out);
  };

  const routes: Route[] = [
    { prefix: '/v1/agent/service/register', takesRest: false, methods: ['PUT'], handler: register },
    // python-consul 0.7 deregisters and passes checks with GET, as Consul before 1.0 allowed.
    {
      prefix: '/v1/agent/service/deregister/',
      takesRest: true,
      methods: ['PUT', 'GET'],
      handler: deregister,
    },
    {
      prefix: '/v1/agent/check/pass/',
      takesRest: true,
      methods: ['PUT', 'GET'],
      handler: checkStatus('passing'),
    },
    {
      prefix: '/v1/agent/check/warn/',
      takesRest: true,
      methods: ['PUT', 'GET'],
      handler: checkStatus('warning'),
    },
    {
      prefix: '/v1/agent/check/fail/',
      takesRest: true,
      methods: ['PUT', 'GET'],
      handler: checkStatus('critical'),
    },
    { prefix: '/v1/agent/check/update/', takesRest: true, methods: ['PUT'], handler: checkUpdate },
    { prefix: '/v1/agent/services', takesRest: false, methods: ['GET'], handler: agentServices },
    { prefix: '/v1/agent/checks', takesRest: false, methods: ['GET'], handler: agentChecks },
    {
      prefix: '/v1/agent/self',
      takesRest: false,
      methods: ['GET'],
      handler: (req, res) => reply(res, agentSelfView(node(req))),
    },
    { prefix: '/v1/health/service/', takesRest: true, methods: ['GET'], handler: healthService },
    { prefix: '/v1/catalog/services', takesRest: false, methods: ['GET'], handler: catalogServices },
    { prefix: '/v1/catalog/service/', takesRest: true, methods: ['GET'], handler: catalogService },
    {
      prefix: '/v1/status/leader',
      takesRest: false,
      methods: ['GET'],
      handler: (req, res) => reply(res, `${agentAddress(req)}:8300`),
    },
    {
      prefix: '/v1/status/peers',
      takesRest: false,
      methods: ['GET'],
      handler: (req, res) => reply(res, [`${agentAddress(req)}:8300`]),
    },
  ];

  return {
    name: 'consul',
    async handle(req, res, url) {
      // The raw path: URL's pathname would resolve "." and ".." segments, which are valid ids.
      const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
      const route = routes.find((r) =>
        r.takesRest ? path.startsWith(r.prefix) && path.length > r.prefix.length : path === r.prefix,
      );
      if (!route) return false;
      try {
        if (!route.methods.includes(req.method ?? '')) {
          res.setHeader('allow', route.methods.join(', '));
          throw new HubHttpError(405, `method ${req.method} not allowed`);
        }
        const dc = url.searchParams.get('dc');
        if (dc && dc !== DATACENTER) throw new HubHttpError(500, 'No path to datacenter');
        if (url.searchParams.has('filter')) {
          throw new HubHttpError(400, 'filter expressions are not supported by the Switchboard hub');
        }
        // Every Consul endpoint needs a caller the policy knows; each handler checks the rest.
        require(req, res, 'connect');
        await route.handler(req, res, url, path.slice(route.prefix.length));
      } catch (err) {
        // A body left unread (too large) is not worth reading to its end; close without a reset.
        if (!req.complete && !res.headersSent) closeAfterAnswer(req, res);
        if (err instanceof HubHttpError) sendText(res, err.status, err.message, table.index);
        else sendText(res, 500, (err as Error).message, table.index);
      }
      return true;
    },
  };
}

function queryHeaders(index: number): Record<string, string> {
  return {
    'x-consul-index': String(index),
    'x-consul-knownleader': 'true',
    'x-consul-lastcontact': '0',
    'x-consul-effective-consistency': 'leader',
  };
}

/** Consul's errors are plain text. */
function sendText(res: ServerResponse, status: number, message: string, index: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(message),
    'x-consul-index': String(index),
  });
  res.end(message);
}

/** A write's answer: 200 with no body, as the agent gives. */
function empty(res: ServerResponse): void {
  res.writeHead(200, { 'content-length': 0 });
  res.end();
}

/** The body as JSON whatever its content type: python-consul sends none, the npm client JSON. */
async function readConsulJson(req: IncomingMessage): Promise<unknown> {
  const declared = req.headers['content-length'];
  let body: Buffer;
  try {
    body = await readBodyAsync(
      req,
      MAX_HUB_BODY_BYTES,
      declared === undefined ? undefined : Number(declared),
    );
  } catch (err) {
    const tooLarge = (err as { code?: number }).code === 8;
    throw new HubHttpError(
      tooLarge ? 413 : 400,
      tooLarge ? 'Request body too large' : (err as Error).message,
    );
  }
  if (body.length === 0) throw new HubHttpError(400, 'Request decode failed: EOF');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HubHttpError(400, `Request decode failed: ${(err as Error).message}`);
  }
}

function parseIndex(text: string | null): number {
  if (text === null || text === '') return 0;
  if (!/^\d{1,16}$/.test(text))
    throw new HubHttpError(400, `Invalid index: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

/** `?passing`, `?passing=1`, `?passing=true` are true; `false`/`0` false; anything else a 400. */
function parseBoolParam(url: URL, name: string): boolean {
  const value = url.searchParams.get(name);
  if (value === null) return false;
  if (['', '1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new HubHttpError(400, `Invalid value for ?${name}: ${JSON.stringify(value.slice(0, 40))}`);
}

function decodePart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HubHttpError(400, `Invalid path: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

function truncateOutput(output: string): string {
  const total = Buffer.byteLength(output);
  if (total <= CHECK_OUTPUT_BYTES) return output;
  const head = Buffer.from(output).subarray(0, CHECK_OUTPUT_BYTES).toString('utf8');
  return `${head} ... (captured ${CHECK_OUTPUT_BYTES} of ${total} bytes)`;
}

/** The agent's address as this caller reached it: what Consul puts for an empty Address. */
function agentAddress(req: IncomingMessage): string {
  const local = req.socket.localAddress ?? '127.0.0.1';
  return local.startsWith('::ffff:') ? local.slice('::ffff:'.length) : local;
}

function sorted(entries: TableEntry[]): TableEntry[] {
  return entries.sort((a, b) => (a.instance.id < b.instance.id ? -1 : a.instance.id > b.instance.id ? 1 : 0));
}
