export {
  type HttpClientOptions,
  type HttpClientTlsOptions,
  HttpClientTransport,
} from './client.ts';
export { JSON_CONTENT_TYPE, NDJSON_CONTENT_TYPE, SSE_CONTENT_TYPE } from './media-types.ts';
export {
  expandTemplate,
  type PathTemplate,
  parsePathTemplate,
  type TemplateSegment,
  type TemplateVariable,
} from './path-template.ts';
export { type RouteResult, Router } from './router.ts';
export {
  buildRouter,
  DEFAULT_MAX_BODY_BYTES,
  type HttpEndpoint,
  HttpServer,
  type HttpServerOptions,
  type HttpServerTlsOptions,
} from './server.ts';
export { type StatusJson, statusErrorFromJson, statusJson } from './status-body.ts';
