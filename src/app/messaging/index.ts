/** Messaging in the framework: typed events, commands and request/reply over any Broker (docs/events.md). */
export { cloudEventOf } from './cloud-event-json.ts';
export {
  binaryHeaders,
  CLOUDEVENTS_SPEC_VERSION,
  type CloudEventAttributes,
  readBinaryAttributes,
} from './cloudevents.ts';
export {
  type CommandClient,
  type CommandClientOptions,
  type CommandMethod,
  commandClient,
  type RequestCommandOptions,
  type SendCommandOptions,
} from './command-client.ts';
export { type CommandServer, type ServeCommandsOptions, serveCommands } from './command-server.ts';
export { commandTopic } from './command-topic.ts';
export {
  EventBus,
  type EventBusOptions,
  type EventHandler,
  type EventRef,
  type PublishEventOptions,
} from './event-bus.ts';
export type { EventContext } from './event-context.ts';
export { isRetryable, RETRYABLE_CODES } from './failure-policy.ts';
export {
  CORRELATION_ID_HEADER,
  DEADLINE_HEADER,
  IDEMPOTENCY_KEY_HEADER,
  REPLY_TO_HEADER,
  STATUS_HEADER,
  STATUS_MESSAGE_HEADER,
} from './headers.ts';
export {
  type IdempotencyClaim,
  type IdempotencyStore,
  MemoryIdempotencyStore,
  type MemoryIdempotencyStoreOptions,
} from './idempotency-store.ts';
export type { ContentMode, EnvelopeOptions } from './outgoing.ts';
export { JSON_CONTENT_TYPE, type PayloadEncoding, PROTOBUF_CONTENT_TYPE } from './payload.ts';
export type { PropagationParent } from './propagation.ts';
export {
  type CloudEventJson,
  decodeStructured,
  type EventData,
  encodeStructured,
  STRUCTURED_CONTENT_TYPE,
  toCloudEventJson,
} from './structured.ts';
