export {
  type AsyncApiDocument,
  type AsyncApiOptions,
  asyncApiDocument,
  contractTopics,
  EVENT_HEADERS,
  type TopicBinding,
} from './asyncapi.ts';
export { JSON_SCHEMA_DIALECT, jsonSchemaOf, SchemaCollector } from './json-schema.ts';
export { type ApiServer, type OpenApiDocument, type OpenApiOptions, openApiDocument } from './openapi.ts';
export type { JsonSchema } from './schema-types.ts';
