/**
 * An OpenAPI 3.1 document of services' HTTP/REST bindings, as the HTTP transport serves them
 * (docs/http.md): one operation per google.api.http rule, plus `POST /<package>.<Service>/<Method>`
 * for every method whose rules do not already take that path. Pure: no I/O.
 */
import protobuf from 'protobufjs';
import type { MethodDescriptor, ServiceDescriptor } from '../descriptors.ts';
import type { HttpRule } from '../http-rules.ts';
import { fieldPath, pathParameters, queryParameters } from './http-parameters.ts';
import { type OpenApiPath, openApiPath } from './http-paths.ts';
import {
  DEADLINE_PARAMETERS,
  ERROR_RESPONSES,
  type ErrorResponseName,
  errorResponses,
  STATUS_SCHEMA_NAME,
  STREAM_ERROR_SCHEMA_NAME,
  statusSchemas,
} from './http-status.ts';
import { reflectionOf, SchemaCollector } from './json-schema.ts';
import type { JsonSchema } from './schema-types.ts';

export interface ApiServer {
  url: string;
  description?: string;
}

export interface OpenApiOptions {
  title: string;
  version: string;
  description?: string;
  /** Base URLs ("http://127.0.0.1:8080"); a relative "/" (the serving host) unless set. */
  servers?: readonly (string | ApiServer)[];
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string };
  servers?: ApiServer[];
  tags: { name: string; description?: string }[];
  /** OpenAPI path → lower-case HTTP method → operation. */
  paths: Record<string, Record<string, JsonSchema>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, JsonSchema>;
    parameters: Record<string, JsonSchema>;
  };
}

const SCHEMAS = '#/components/schemas/';
const OPERATION_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

export function openApiDocument(
  services: readonly ServiceDescriptor[],
  options: OpenApiOptions,
): OpenApiDocument {
  const collector = new SchemaCollector(SCHEMAS);
  const paths: OpenApiDocument['paths'] = {};
  const operationIds = new Set<string>();
  const shortNames = new Map<string, number>();
  for (const s of services) shortNames.set(s.name, (shortNames.get(s.name) ?? 0) + 1);
  for (const service of services) {
    const prefix = shortNames.get(service.name) === 1 ? service.name : service.fullName.replace(/\./g, '_');
    for (const method of service.methods) {
      const base = unique(operationIds, `${prefix}_${method.name}`);
      const rules = routesOf(method);
      rules.forEach(({ rule, id }, i) => {
        const path = openApiPath(rule.path);
        const verb = rule.method.toLowerCase();
        if (!OPERATION_METHODS.has(verb)) return; // a custom HTTP method OpenAPI 3.1 cannot name
        const item = paths[path.path] ?? {};
        paths[path.path] = item;
        if (item[verb]) return; // two templates that read alike in OpenAPI: the first one is documented
        const operationId = i === 0 ? base : unique(operationIds, `${base}_${id}`);
        item[verb] = operation(method, rule, path, operationId, collector);
      });
    }
  }
  const document: OpenApiDocument = {
    openapi: '3.1.0',
    info: { title: options.title, version: options.version },
    tags: services.map((s) =>
      withDescription<OpenApiDocument['tags'][number]>({ name: s.fullName }, commentOf(s)),
    ),
    paths,
    components: {
      schemas: { ...collector.definitions, ...statusSchemas(SCHEMAS) },
      responses: errorResponses(SCHEMAS),
      parameters: DEADLINE_PARAMETERS,
    },
  };
  if (options.description !== undefined) document.info.description = options.description;
  if (options.servers) {
    document.servers = options.servers.map((s) => (typeof s === 'string' ? { url: s } : { ...s }));
  }
  return document;
}

/** The method's rules, then its gRPC path as a POST route when no rule takes it already. */
function routesOf(method: MethodDescriptor): { rule: HttpRule; id: string }[] {
  const routes = method.httpRules.map((rule, i) => ({ rule, id: String(i + 1) }));
  if (!method.httpRules.some((r) => r.method === 'POST' && r.path === method.path)) {
    routes.push({ rule: { method: 'POST', path: method.path, body: '*', responseBody: '' }, id: 'rpc' });
  }
  return routes;
}

function operation(
  method: MethodDescriptor,
  rule: HttpRule,
  path: OpenApiPath,
  operationId: string,
  collector: SchemaCollector,
): JsonSchema {
  const input = reflectionOf(method.input);
  const output = reflectionOf(method.output);
  const parameters: JsonSchema[] = pathParameters(input, path, collector, method.requestStream);
  if (!method.requestStream) parameters.push(...queryParameters(input, rule, path, collector));
  parameters.push(
    { $ref: '#/components/parameters/TimeoutMs' },
    { $ref: '#/components/parameters/GrpcTimeout' },
  );
  const op: JsonSchema = {
    operationId,
    tags: [method.service.fullName],
    summary: `${method.fullName} (${method.kind.replace('_', ' ')})`,
  };
  const description = methodComment(method);
  if (description) op.description = description;
  op.parameters = parameters;
  const body = requestBody(method, rule, input, collector);
  if (body) op.requestBody = body;
  const responses: JsonSchema = { '200': success(method, rule, output, collector) };
  const errors: ErrorResponseName[] = ['InvalidArgument'];
  if (body) errors.push('PayloadTooLarge', 'UnsupportedMediaType');
  errors.push('Unavailable', 'DeadlineExceeded', 'Error');
  for (const name of errors)
    responses[ERROR_RESPONSES[name].status] = { $ref: `#/components/responses/${name}` };
  op.responses = responses;
  return op;
}

function requestBody(
  method: MethodDescriptor,
  rule: HttpRule,
  input: protobuf.Type,
  collector: SchemaCollector,
): JsonSchema | undefined {
  const message = collector.messageRef(input);
  if (method.requestStream) {
    return {
      description:
        'The request stream: one JSON message per line (NDJSON), or a JSON array of messages with application/json.',
      content: {
        'application/x-ndjson': { schema: message },
        'application/json': { schema: { oneOf: [{ type: 'array', items: message }, message] } },
      },
    };
  }
  if (rule.body === '') return undefined;
  if (rule.body === '*') return { content: { 'application/json': { schema: message } } };
  const leaf = fieldPath(input, rule.body.split('.'))?.at(-1);
  if (!leaf)
    throw new Error(
      `${rule.method} ${rule.path}: body field ${rule.body} is not in ${method.input.fullName}`,
    );
  return {
    description: `The ${rule.body} field of ${method.input.fullName}.`,
    content: { 'application/json': { schema: collector.fieldSchema(leaf) } },
  };
}

function success(
  method: MethodDescriptor,
  rule: HttpRule,
  output: protobuf.Type,
  collector: SchemaCollector,
): JsonSchema {
  let schema: JsonSchema;
  if (rule.responseBody) {
    const leaf = fieldPath(output, [rule.responseBody])?.at(-1);
    if (!leaf) {
      throw new Error(
        `${rule.method} ${rule.path}: response_body ${rule.responseBody} is not in ${method.output.fullName}`,
      );
    }
    schema = collector.fieldSchema(leaf);
  } else {
    schema = collector.messageRef(output);
  }
  if (!method.responseStream) return { description: 'OK', content: { 'application/json': { schema } } };
  return {
    description:
      'The response stream: NDJSON unless the Accept header asks for text/event-stream. A failure after the first message ends the stream with an error line (NDJSON) or an "error" event (SSE); trailers grpc-status and grpc-message follow.',
    content: {
      'application/x-ndjson': {
        schema: {
          description: 'Each line',
          anyOf: [schema, { $ref: `${SCHEMAS}${STREAM_ERROR_SCHEMA_NAME}` }],
        },
      },
      'text/event-stream': {
        schema: {
          type: 'string',
          description: `Server-sent events: "data: <message JSON>" per message; "event: error" with a ${STATUS_SCHEMA_NAME} as data on failure.`,
        },
      },
    },
  };
}

function unique(taken: Set<string>, wanted: string): string {
  let name = wanted;
  for (let n = 2; taken.has(name); n++) name = `${wanted}${n}`;
  taken.add(name);
  return name;
}

function withDescription<T extends { description?: string }>(value: T, description: string | undefined): T {
  if (description) value.description = description;
  return value;
}

function serviceReflection(service: ServiceDescriptor): protobuf.Service | undefined {
  const first = service.methods[0];
  if (!first) return undefined;
  const found = reflectionOf(first.input).root.lookup(service.fullName);
  return found instanceof protobuf.Service ? found : undefined;
}

function commentOf(service: ServiceDescriptor): string | undefined {
  return serviceReflection(service)?.comment ?? undefined;
}

function methodComment(method: MethodDescriptor): string | undefined {
  return serviceReflection(method.service)?.methods[method.name]?.comment ?? undefined;
}
