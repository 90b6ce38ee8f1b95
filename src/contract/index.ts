export { ProtobufMessageType } from './codec.ts';
export { Contract, createRoot, type LoadOptions, loadContract, loadContractSync } from './contract.ts';
export type {
  FieldInfo,
  Idempotency,
  JsonValue,
  MessageType,
  MethodDescriptor,
  MethodKind,
  ServiceDescriptor,
} from './descriptors.ts';
export { type HttpRule, httpRulesFromOptions } from './http-rules.ts';
export { BUNDLED_PROTO_DIR } from './paths.ts';
export { isStatusError, StatusError, type StatusDetail, type StatusErrorOptions } from './errors.ts';
export { Metadata, type MetadataInit, type MetadataValue } from './metadata.ts';
export { codeFromHttpStatus, httpStatusFromCode, isStatus, Status, statusFromName, statusName } from './status.ts';
