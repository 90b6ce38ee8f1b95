/**
 * The OpenAPI 3.1 document of the hub's own HTTP API, served at `GET /openapi.json`. Written by
 * hand (the hub has no contract); `openapi.test.ts` checks it against the validator and against
 * a running hub. The Consul- and Eureka-compatible APIs are those systems' own and not described.
 */
import type { JsonValue } from '../../contract/descriptors.ts';

export const HUB_OPENAPI_PATH = '/openapi.json';

type Json = { [key: string]: JsonValue };

const schema = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (s: Json, description: string): Json => ({
  description,
  content: { 'application/json': { schema: s } },
});
const error = (name: string): Json => ({ $ref: `#/components/responses/${name}` });

const SERVICE: Json = {
  name: 'service',
  in: 'path',
  required: true,
  description: 'The service name, URL-encoded ("greet.Greeter"; "/" as %2F).',
  schema: { type: 'string', maxLength: 256 },
};
const ID: Json = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]+$', maxLength: 128 },
};
const BLOCKING: Json[] = [
  {
    name: 'index',
    in: 'query',
    description: 'Blocking query: answer once the registry index passes this one (or `wait` runs out).',
    schema: { type: 'integer', minimum: 0 },
  },
  {
    name: 'wait',
    in: 'query',
    description: 'Longest wait of a blocking query: "10s", "250ms", "1m" (60 s unless set, at most 5 min).',
    schema: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)?$' },
  },
];

const SCHEMAS: Record<string, Json> = {
  Endpoint: {
    type: 'object',
    properties: {
      transport: { type: 'string', enum: ['grpc', 'http', 'native'] },
      host: { type: 'string', maxLength: 255 },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      tls: { type: 'boolean' },
    },
    required: ['transport', 'host', 'port'],
  },
  ServiceInstance: {
    type: 'object',
    properties: {
      service: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.\\-/]*$', maxLength: 256 },
      id: { type: 'string', pattern: '^[A-Za-z0-9_.:-]+$', maxLength: 128 },
      endpoints: { type: 'array', items: schema('Endpoint'), minItems: 1, maxItems: 8 },
      version: { type: 'string' },
      zone: { type: 'string' },
      metadata: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 64 },
    },
    required: ['service', 'id', 'endpoints', 'metadata'],
  },
  Registration: {
    type: 'object',
    properties: {
      instance: schema('ServiceInstance'),
      ttlMs: {
        type: 'number',
        description: 'Lease time wanted; raised to 1 s and cut to 5 min. 10 s unless set.',
      },
    },
    required: ['instance'],
  },
  Error: {
    type: 'object',
    properties: { error: { type: 'string' } },
    required: ['error'],
  },
  BrokerInfo: {
    type: 'object',
    properties: {
      target: { type: 'string', description: '"host:port" of the broker port (native transport).' },
      kind: { type: 'string', description: '"embedded", "memory", "nats", …' },
      capabilities: {
        type: 'object',
        properties: Object.fromEntries(
          ['orderingPerKey', 'persistence', 'consumerGroups', 'replay', 'delayedRedelivery', 'dedupe'].map(
            (k) => [k, { type: 'boolean' }],
          ),
        ),
      },
    },
    required: ['target', 'kind', 'capabilities'],
  },
};

const RESPONSES: Record<string, Json> = {
  BadRequest: json(schema('Error'), 'A malformed request or registration.'),
  NotFound: json(schema('Error'), 'No such instance (its lease may have expired) or endpoint.'),
  MethodNotAllowed: json(schema('Error'), 'Another HTTP method serves this path (see Allow).'),
  Busy: json(schema('Error'), 'The hub holds its limit of watchers or blocking queries; try again later.'),
  Unauthorized: {
    ...json(schema('Error'), 'No credential, or a token the access policy does not know (docs/security.md).'),
    headers: {
      'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="switchboard-hub"' },
    },
  },
  Forbidden: json(schema('Error'), 'The caller is known but has no grant for this service and action.'),
};

/** How a caller shows who it is when the hub has an access policy (docs/security.md#hub-access). */
const SECURITY_SCHEMES: Record<string, Json> = {
  bearer: { type: 'http', scheme: 'bearer', description: 'A token named in the access policy.' },
  clientCertificate: {
    type: 'mutualTLS',
    description: "A client certificate signed by the hub's CA; its SAN URI or DNS name is the caller.",
  },
};
/** Paths anyone may read, policy or not. */
const PUBLIC_PATHS = new Set(['/healthz', HUB_OPENAPI_PATH]);

const PATHS: Record<string, Json> = {
  '/healthz': {
    get: {
      operationId: 'Hub_Health',
      tags: ['hub'],
      summary: 'Liveness',
      responses: {
        '200': json(
          { type: 'object', properties: { status: { const: 'SERVING' } }, required: ['status'] },
          'Running',
        ),
      },
    },
  },
  [HUB_OPENAPI_PATH]: {
    get: {
      operationId: 'Hub_OpenApi',
      tags: ['hub'],
      summary: 'This document',
      responses: { '200': json({ type: 'object' }, 'The OpenAPI document') },
    },
  },
  '/api/v1/instances': {
    put: {
      operationId: 'Registry_Register',
      tags: ['registry'],
      summary: 'Register (or re-register) an instance with a lease',
      requestBody: { required: true, content: { 'application/json': { schema: schema('Registration') } } },
      responses: {
        '200': json(
          {
            type: 'object',
            properties: { index: { type: 'integer' }, ttlMs: { type: 'integer' } },
            required: ['index', 'ttlMs'],
          },
          'Registered; heartbeat within ttlMs (every third of it is usual).',
        ),
        '400': error('BadRequest'),
        '405': error('MethodNotAllowed'),
        '413': json(schema('Error'), 'The body is over 256 KiB.'),
        '415': json(schema('Error'), 'The body is not JSON.'),
        '507': json(schema('Error'), 'The registry holds its limit of instances.'),
      },
    },
  },
  '/api/v1/instances/{service}/{id}/heartbeat': {
    put: {
      operationId: 'Registry_Heartbeat',
      tags: ['registry'],
      summary: "Renew an instance's lease",
      parameters: [SERVICE, ID],
      responses: {
        '200': json({ type: 'object', properties: { ttlMs: { type: 'integer' } } }, 'Renewed'),
        '404': error('NotFound'),
      },
    },
  },
  '/api/v1/instances/{service}/{id}': {
    delete: {
      operationId: 'Registry_Deregister',
      tags: ['registry'],
      summary: 'Deregister an instance',
      parameters: [SERVICE, ID],
      responses: {
        '200': json(
          { type: 'object', properties: { index: { type: 'integer' } }, required: ['index'] },
          'Removed',
        ),
        '404': error('NotFound'),
      },
    },
  },
  '/api/v1/services': {
    get: {
      operationId: 'Registry_ListServices',
      tags: ['registry'],
      summary: 'Every registered service and its count of passing instances',
      parameters: BLOCKING,
      responses: {
        '200': json(
          {
            type: 'object',
            properties: {
              services: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { name: { type: 'string' }, instances: { type: 'integer' } },
                  required: ['name', 'instances'],
                },
              },
              index: { type: 'integer' },
            },
            required: ['services', 'index'],
          },
          'The services, sorted by name',
        ),
        '400': error('BadRequest'),
        '503': error('Busy'),
      },
    },
  },
  '/api/v1/services/{service}': {
    get: {
      operationId: 'Registry_ListInstances',
      tags: ['registry'],
      summary: 'The passing instances of a service',
      parameters: [SERVICE, ...BLOCKING],
      responses: {
        '200': json(
          {
            type: 'object',
            properties: {
              instances: { type: 'array', items: schema('ServiceInstance') },
              index: { type: 'integer' },
            },
            required: ['instances', 'index'],
          },
          'The instances (an empty list for an unknown service)',
        ),
        '400': error('BadRequest'),
        '503': error('Busy'),
      },
    },
  },
  '/api/v1/watch/{service}': {
    get: {
      operationId: 'Registry_Watch',
      tags: ['registry'],
      summary: 'Server-sent events with the instance list, at once and after every change',
      parameters: [SERVICE],
      responses: {
        '200': {
          description:
            '"event: instances", "id: <index>", "data: {"instances": [...], "index": n}" per change; a comment line keeps the stream alive every 15 s.',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        '503': error('Busy'),
      },
    },
  },
  '/api/v1/broker': {
    get: {
      operationId: 'Hub_BrokerInfo',
      tags: ['broker'],
      summary: "Where the hub's broker port is, and what the broker can do",
      responses: {
        '200': json(schema('BrokerInfo'), 'The broker port'),
        '404': error('NotFound'),
      },
    },
  },
};

/** PATHS with the answers of an access policy on every operation that needs a credential. */
function guardedPaths(): Record<string, Json> {
  const paths: Record<string, Json> = {};
  for (const [path, item] of Object.entries(PATHS)) {
    if (PUBLIC_PATHS.has(path)) {
      paths[path] = Object.fromEntries(
        Object.entries(item).map(([method, op]) => [method, { ...(op as Json), security: [] }]),
      );
      continue;
    }
    paths[path] = Object.fromEntries(
      Object.entries(item).map(([method, op]) => {
        const operation = op as Json;
        const responses = {
          ...(operation.responses as Json),
          '401': error('Unauthorized'),
          '403': error('Forbidden'),
        };
        return [method, { ...operation, responses }];
      }),
    );
  }
  return paths;
}

export interface HubOpenApiOptions {
  /** Base URLs ("/" — the serving hub — unless set). */
  servers?: readonly string[];
  /** The hub has an access policy: every operation but the public ones needs a credential. */
  secured?: boolean;
}

/** The hub's API document. */
export function hubOpenApiDocument(options: HubOpenApiOptions = {}): Json {
  const credentials: Json[] = [{ bearer: [] }, { clientCertificate: [] }];
  const document: Json = {
    openapi: '3.1.0',
    info: {
      title: 'Switchboard hub',
      version: 'v1',
      description:
        "The hub's registry API (leases, blocking queries, watches) and broker discovery. The hub also serves the Consul- and Eureka-compatible APIs, described by those projects.",
    },
    tags: [
      { name: 'hub', description: 'The hub itself' },
      { name: 'registry', description: 'Service discovery: /api/v1/' },
      { name: 'broker', description: "The embedded broker's port" },
    ],
    paths: guardedPaths(),
    components: { schemas: SCHEMAS, responses: RESPONSES, securitySchemes: SECURITY_SCHEMES },
    // Without a policy the empty requirement says a request needs no credential.
    security: options.secured ? credentials : [{}, ...credentials],
  };
  if (options.servers) document.servers = options.servers.map((url) => ({ url }));
  return document;
}
