/**
 * `/openapi.json` and `/asyncapi.json` on a Server's HTTP port: the API documents of the
 * services it hosts, generated from their contract on first request and then kept.
 */
import type { ServerResponse } from 'node:http';
import type protobuf from 'protobufjs';
import type { ServiceDescriptor } from '../contract/descriptors.ts';
import {
  asyncApiDocument,
  contractTopics,
  openApiDocument,
  type TopicBinding,
} from '../contract/documents/index.ts';
import { reflectionOf } from '../contract/documents/json-schema.ts';
import type { ServiceHost } from '../core/host.ts';
import type { HttpEndpoint } from '../transports/http/index.ts';

export interface ApiDocumentsOptions {
  /** info.title; the served services' names unless set. */
  title?: string;
  /** info.version; "unversioned" unless set. */
  version?: string;
  description?: string;
}

export const OPENAPI_PATH = '/openapi.json';
export const ASYNCAPI_PATH = '/asyncapi.json';

/** Services every Server hosts for tooling, not part of its API. */
const INFRASTRUCTURE = /^grpc\.(health|reflection)\./;

/**
 * The document endpoints for a host. The services are read on the first request, so services
 * added before `listen()` are all included; `/asyncapi.json` answers 404 when the contract binds
 * no topics.
 */
export function apiDocumentEndpoints(
  host: ServiceHost,
  options: ApiDocumentsOptions = {},
): Record<string, HttpEndpoint> {
  const services = () => host.services.filter((s) => !INFRASTRUCTURE.test(s.fullName));
  const info = () => {
    const served = services();
    return {
      title: options.title ?? (served.map((s) => s.fullName).join(', ') || 'Switchboard server'),
      version: options.version ?? 'unversioned',
      ...(options.description === undefined ? {} : { description: options.description }),
    };
  };
  let openApi: string | undefined;
  /** null: generated, and no topics. */
  let asyncApi: string | null | undefined;
  return {
    [OPENAPI_PATH]: (_req, res) => {
      openApi ??= JSON.stringify(openApiDocument(services(), info()));
      sendDocument(res, openApi);
    },
    [ASYNCAPI_PATH]: (_req, res) => {
      if (asyncApi === undefined) {
        const topics = topicsOf(services());
        asyncApi = topics.length === 0 ? null : JSON.stringify(asyncApiDocument(topics, info()));
      }
      if (asyncApi === null) sendNotFound(res);
      else sendDocument(res, asyncApi);
    },
  };
}

/** The topics the contracts of `services` bind, each (topic, message) once. */
function topicsOf(services: readonly ServiceDescriptor[]): TopicBinding[] {
  const roots = new Set<protobuf.Root>();
  for (const service of services) {
    for (const method of service.methods) roots.add(reflectionOf(method.input).root);
  }
  const seen = new Set<string>();
  const out: TopicBinding[] = [];
  for (const root of roots) {
    for (const binding of contractTopics(root)) {
      const key = `${binding.topic}\n${'fullName' in binding.message ? binding.message.fullName : ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(binding);
    }
  }
  return out;
}

function sendDocument(res: ServerResponse, body: string): void {
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    // A description of a public API: browser tools (Swagger UI, AsyncAPI Studio) may fetch it.
    'access-control-allow-origin': '*',
  });
  res.end(body);
}

function sendNotFound(res: ServerResponse): void {
  const body = JSON.stringify({
    code: 12,
    status: 'UNIMPLEMENTED',
    message: 'the served contract binds no topics',
    details: [],
  });
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
