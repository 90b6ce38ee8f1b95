import type { HttpRule } from './http-rules.ts';

/** A JSON value as produced by the proto3 canonical JSON mapping. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A protobuf message type with its binary and JSON codecs. Decoding errors are INVALID_ARGUMENT. */
export interface MessageType<T = Record<string, unknown>> {
  /** "greet.Request" */
  readonly fullName: string;
  encode(message: T | Record<string, unknown>): Uint8Array;
  decode(bytes: Uint8Array): T;
  toJson(message: T | Record<string, unknown>): JsonValue;
  /** Strict by default: unknown fields and enum names are INVALID_ARGUMENT unless ignored. */
  fromJson(json: unknown, options?: JsonReadOptions): T;
  /** A message with every field at its default, overlaid with `init`. */
  create(init?: Record<string, unknown>): T;
  /** The names of the message's fields as the proto file spells them, and their JSON names. */
  readonly fields: readonly FieldInfo[];
}

export interface JsonReadOptions {
  /** Skip members the message does not have (and enum names it does not know) instead of failing. */
  ignoreUnknownFields?: boolean;
}

export interface FieldInfo {
  /** As in the .proto file: "user_id". */
  readonly name: string;
  /** lowerCamelCase (or json_name): "userId"; also the property name of decoded messages. */
  readonly jsonName: string;
  /** Scalar type name ("string", "int64", …), an enum's or a message's full name. */
  readonly type: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly kind: 'scalar' | 'enum' | 'message';
}

export type MethodKind = 'unary' | 'server_streaming' | 'client_streaming' | 'bidi_streaming';

/** From `option idempotency_level`: retries and GET routes rely on it. */
export type Idempotency = 'unknown' | 'idempotent' | 'no_side_effects';

export interface MethodDescriptor {
  /** "SayHello" */
  readonly name: string;
  /** "sayHello": the property of implementations and clients. */
  readonly localName: string;
  /** "greet.Greeter.SayHello" */
  readonly fullName: string;
  /** "/greet.Greeter/SayHello": the gRPC path, and the key of every transport's routing table. */
  readonly path: string;
  readonly service: ServiceDescriptor;
  readonly kind: MethodKind;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly input: MessageType;
  readonly output: MessageType;
  readonly idempotency: Idempotency;
  /** Never empty: a method without `google.api.http` gets `POST /<package>.<Service>/<Method>`. */
  readonly httpRules: readonly HttpRule[];
}

export interface ServiceDescriptor {
  /** "Greeter" */
  readonly name: string;
  /** "greet.Greeter" */
  readonly fullName: string;
  readonly methods: readonly MethodDescriptor[];
  /** By proto name ("SayHello") or local name ("sayHello"). */
  method(name: string): MethodDescriptor | undefined;
}

export function methodKind(requestStream: boolean, responseStream: boolean): MethodKind {
  if (requestStream) return responseStream ? 'bidi_streaming' : 'client_streaming';
  return responseStream ? 'server_streaming' : 'unary';
}

export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
