import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import type { Broker } from '../../messaging/broker.ts';
import { readBodyAsync } from '../../transports/http/body-reader.ts';
import { type HubAccess, OPEN_ACCESS } from '../access/hub-access.ts';
import type { HubApi, HubState } from '../api/hub-api.ts';
import { HubHttpError, readJson, sendError, sendJson } from '../http-kit.ts';
import { ContractFetcher, type ContractFetcherOptions } from './contract-fetcher.ts';
import { EjectionReports } from './ejection-reports.ts';
import { parseOtlpTraces } from './otlp-json.ts';
import { SnapshotBuilder } from './snapshot.ts';
import { SnapshotStream } from './snapshot-stream.ts';
import { TopologyStats } from './topology-stats.ts';
import { TraceStore } from './trace-store.ts';

/** Limits and timings of the hub's telemetry (traces, topology, dashboard); every field has a default. */
export interface TelemetryOptions {
  /** Traces kept. 2,000 unless set. */
  maxTraces?: number;
  /** Spans kept per trace. 500 unless set. */
  maxSpansPerTrace?: number;
  /** The topology's sliding window. 60 s unless set. */
  windowMs?: number;
  /** Largest OTLP request (after gunzip). 4 MiB unless set. */
  maxOtlpBytes?: number;
  /** How often the dashboard stream sends a snapshot. 1 s unless set. */
  streamIntervalMs?: number;
  /** Keep-alive comment on dashboard streams this often. 15 s unless set. */
  streamHeartbeatMs?: number;
  /** A dashboard stream not read for this long is dropped. 30 s unless set. */
  streamStallMs?: number;
  /** Open dashboard streams at most. 1,000 unless set. */
  maxStreams?: number;
  /** An ejection report not renewed within this is forgotten. 60 s unless set. */
  ejectionTtlMs?: number;
  contract?: ContractFetcherOptions;
  now?: () => number;
}

export const OTLP_TRACES_PATH = '/v1/traces';
const API = '/api/v1/';
const MAX_TRACE_LIST = 1000;
const INSTANCE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

type Route =
  | { kind: 'otlp' }
  | { kind: 'snapshot' }
  | { kind: 'stream' }
  | { kind: 'traces' }
  | { kind: 'trace'; traceId: string }
  | { kind: 'ejection'; instanceId: string }
  | { kind: 'contract'; service: string };

const METHODS: Record<Route['kind'], string> = {
  otlp: 'POST',
  snapshot: 'GET',
  stream: 'GET',
  traces: 'GET',
  trace: 'GET',
  ejection: 'PUT',
  contract: 'GET',
};

/**
 * The hub's telemetry: an OTLP/HTTP JSON trace receiver (`POST /v1/traces`), recent traces,
 * the service topology computed from spans, callers' ejection reports, services' contracts by
 * reflection, and the dashboard's snapshot and stream. Served ahead of the registry API,
 * whose `/api/v1/` family it shares.
 */
export class TelemetryApi implements HubApi {
  readonly name = 'telemetry';
  readonly traces: TraceStore;
  readonly topology: TopologyStats;
  readonly ejections: EjectionReports;
  readonly snapshots: SnapshotBuilder;
  readonly #access: HubAccess;
  readonly #stream: SnapshotStream;
  readonly #contracts: ContractFetcher;
  readonly #maxOtlpBytes: number;

  constructor(state: HubState, broker: () => Broker | undefined, options: TelemetryOptions = {}) {
    this.#access = state.access ?? OPEN_ACCESS;
    const now = options.now ?? Date.now;
    this.traces = new TraceStore(options);
    this.topology = new TopologyStats({ windowMs: options.windowMs, now });
    this.ejections = new EjectionReports({ ttlMs: options.ejectionTtlMs, now });
    this.snapshots = new SnapshotBuilder({
      registry: state.registry,
      topology: this.topology,
      ejections: this.ejections,
      broker,
      now,
    });
    this.#stream = new SnapshotStream(() => this.snapshots.build(), {
      intervalMs: options.streamIntervalMs ?? 1000,
      heartbeatMs: options.streamHeartbeatMs ?? 15_000,
      stallMs: options.streamStallMs ?? 30_000,
      maxStreams: options.maxStreams ?? 1000,
    });
    this.#contracts = new ContractFetcher(state.registry, options.contract);
    this.#maxOtlpBytes = options.maxOtlpBytes ?? 4 * 1024 * 1024;
    state.closing.addEventListener('abort', () => this.#stream.close(), { once: true });
  }

  /** Open dashboard streams and the bytes queued to them. */
  get stats(): { dashboardStreams: number; dashboardBufferedBytes: number; traces: number } {
    return {
      dashboardStreams: this.#stream.count,
      dashboardBufferedBytes: this.#stream.bufferedBytes,
      traces: this.traces.size,
    };
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean> {
    const route = parseRoute(url.pathname);
    if (!route) return false;
    const allowed = METHODS[route.kind];
    if (req.method !== allowed) {
      sendError(res, 405, `${req.method} is not allowed on ${url.pathname}; use ${allowed}`, {
        allow: allowed,
      });
      return true;
    }
    return this.#serve(route, req, res, url).then(() => true);
  }

  async #serve(route: Route, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const access = this.#access;
    access.require(req, res, 'connect');
    // Everything but spans and ejection reports is the dashboard's to see.
    if (route.kind !== 'otlp' && route.kind !== 'ejection') access.require(req, res, 'dashboard');
    switch (route.kind) {
      case 'otlp': {
        const spans = parse(await this.#readOtlp(req));
        // A service reports its own spans: a telemetry grant, or write on every service named.
        if (!access.allows(req, res, 'telemetry')) {
          for (const service of new Set(spans.map((span) => span.service))) {
            access.require(req, res, 'write', service);
          }
        }
        this.traces.add(spans);
        this.topology.record(spans);
        sendJson(res, 200, { partialSuccess: {} });
        return;
      }
      case 'snapshot':
        sendJson(res, 200, await this.snapshots.build(), { 'cache-control': 'no-store' });
        return;
      case 'stream':
        await this.#stream.open(req, res);
        return;
      case 'traces': {
        const limit = limitParam(url.searchParams.get('limit'));
        const service = url.searchParams.get('service') ?? undefined;
        sendJson(res, 200, { traces: this.traces.list({ limit, service }) });
        return;
      }
      case 'trace': {
        const spans = this.traces.spans(route.traceId);
        if (!spans)
          throw new HubHttpError(404, `the hub holds no trace ${route.traceId} (it may have been evicted)`);
        sendJson(res, 200, { traceId: route.traceId.toLowerCase(), spans });
        return;
      }
      case 'ejection': {
        const { ejected, by } = ejectionReport(await readJson(req));
        // A caller reports in its own name: a telemetry grant, or write on the service it names.
        if (!access.allows(req, res, 'telemetry')) access.require(req, res, 'write', by);
        this.ejections.report(route.instanceId, by, ejected);
        sendJson(res, 200, {
          instanceId: route.instanceId,
          ejected: this.ejections.isEjected(route.instanceId),
          ttlMs: this.ejections.ttlMs,
        });
        return;
      }
      case 'contract':
        sendJson(res, 200, await this.#contracts.fetch(route.service));
        return;
    }
  }

  /** The OTLP body as JSON: JSON only (protobuf is refused with a hint), gzip understood, bounded. */
  async #readOtlp(req: IncomingMessage): Promise<unknown> {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw new HubHttpError(
        415,
        `the hub's OTLP receiver takes OTLP/HTTP JSON (content-type application/json), got ${type || 'no content-type'}; ` +
          'set the exporter to http/json (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)',
      );
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') {
      throw new HubHttpError(415, `content-encoding ${encoding} is not supported; use gzip or none`);
    }
    const limit = this.#maxOtlpBytes;
    const declared = req.headers['content-length'];
    let body: Buffer;
    try {
      body = await readBodyAsync(req, limit, declared === undefined ? undefined : Number(declared));
    } catch (err) {
      const tooLarge = (err as { code?: number }).code === 8;
      throw new HubHttpError(tooLarge ? 413 : 400, (err as Error).message);
    }
    if (encoding === 'gzip') {
      try {
        body = zlib.gunzipSync(body, { maxOutputLength: limit });
      } catch (err) {
        if (err instanceof RangeError)
          throw new HubHttpError(413, `request body larger than ${limit} bytes once unzipped`);
        throw new HubHttpError(400, `malformed gzip body: ${(err as Error).message}`);
      }
    }
    if (body.length === 0) throw new HubHttpError(400, 'expected an OTLP JSON body, got none');
    try {
      return JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new HubHttpError(400, `malformed JSON: ${(err as Error).message}`);
    }
  }
}

/** The API as a HubServer `apis` entry, without a broker (topics stay empty). */
export function telemetryApi(options: TelemetryOptions = {}): (state: HubState) => TelemetryApi {
  return (state) => new TelemetryApi(state, () => undefined, options);
}

function parse(body: unknown) {
  try {
    return parseOtlpTraces(body);
  } catch (err) {
    throw new HubHttpError(400, `not an OTLP ExportTraceServiceRequest: ${(err as Error).message}`);
  }
}

function limitParam(text: string | null): number {
  if (text === null) return 50;
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1) {
    throw new HubHttpError(400, `limit: expected a whole number from 1 to ${MAX_TRACE_LIST}`);
  }
  return Math.min(MAX_TRACE_LIST, Number(text));
}

function ejectionReport(body: unknown): { ejected: boolean; by: string } {
  const shape = 'expected a JSON object {"ejected": true, "by": "<caller>"}';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HubHttpError(400, shape);
  const { ejected, by } = body as { ejected?: unknown; by?: unknown };
  if (typeof ejected !== 'boolean') throw new HubHttpError(400, `ejected: expected true or false; ${shape}`);
  if (typeof by !== 'string' || by.length === 0 || by.length > 256) {
    throw new HubHttpError(400, `by: expected the reporting caller's name (1 to 256 characters); ${shape}`);
  }
  return { ejected, by };
}

function parseRoute(path: string): Route | undefined {
  if (path === OTLP_TRACES_PATH) return { kind: 'otlp' };
  if (!path.startsWith(API)) return undefined;
  const rest = path.slice(API.length).replace(/\/$/, '');
  if (rest === 'dashboard/snapshot') return { kind: 'snapshot' };
  if (rest === 'dashboard/stream') return { kind: 'stream' };
  if (rest === 'traces') return { kind: 'traces' };
  const segments = rest.split('/');
  if (segments[0] === 'traces' && segments.length === 2) {
    const traceId = segment(segments[1] as string);
    if (!/^[0-9a-fA-F]{32}$/.test(traceId)) throw new HubHttpError(400, 'trace id: expected 32 hex digits');
    return { kind: 'trace', traceId };
  }
  if (segments[0] === 'telemetry' && segments[1] === 'instances' && segments.length === 3) {
    const instanceId = segment(segments[2] as string);
    if (!INSTANCE_ID.test(instanceId)) {
      throw new HubHttpError(400, 'instance id: expected 1 to 128 letters, digits and _ . : -');
    }
    return { kind: 'ejection', instanceId };
  }
  // Service names may hold slashes (encoded or not): everything between services/ and /contract.
  if (segments[0] === 'services' && segments.length >= 3 && segments.at(-1) === 'contract') {
    const service = segments.slice(1, -1).map(segment).join('/');
    if (service.length > 256) throw new HubHttpError(400, 'service: longer than 256 characters');
    return { kind: 'contract', service };
  }
  return undefined;
}

function segment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HubHttpError(400, `path segment ${JSON.stringify(text.slice(0, 80))} is not URL-encoded text`);
  }
}
