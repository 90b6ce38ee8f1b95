export { ProtobufMessageType } from './codec.ts';
export { Contract, createRoot, type LoadOptions, loadContract, loadContractSync } from './contract.ts';
export type {
  FieldInfo,
  Idempotency,
  JsonReadOptions,
  JsonValue,
  MessageType,
  MethodDescriptor,
  MethodKind,
  ServiceDescriptor,
} from './descriptors.ts';
export * from './documents/index.ts';
export {
  asProcessed,
  isStatusError,
  type StatusDetail,
  StatusError,
  type StatusErrorOptions,
} from './errors.ts';
export { type HttpRule, httpRulesFromOptions } from './http-rules.ts';
export { Metadata, type MetadataInit, type MetadataValue } from './metadata.ts';
export { BUNDLED_PROTO_DIR } from './paths.ts';
export {
  codeFromHttpStatus,
  httpStatusFromCode,
  isStatus,
  Status,
  statusFromName,
  statusName,
} from './status.ts';
export { boundTopics, TOPIC_OPTION, TopicBindings, topicOption } from './topics.ts';
