import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import { StatusError } from './errors.ts';
import { Status } from './status.ts';
import type { FieldInfo, JsonValue, MessageType } from './descriptors.ts';

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** Wraps a protobufjs reflected type: its generated encoder and decoder, and ProtoJSON. */
export class ProtobufMessageType implements MessageType {
  readonly fullName: string;
  readonly fields: readonly FieldInfo[];
  readonly #type: protobuf.Type;
  /** Whether any field, at any depth, is 64-bit: only then do bigint inputs need converting. */
  readonly #hasLongs: boolean;

  constructor(type: protobuf.Type) {
    this.#type = type;
    this.fullName = type.fullName.replace(/^\./, '');
    this.fields = type.fieldsArray.map(fieldInfo);
    this.#hasLongs = hasLongs(type, new Set());
  }

  get reflection(): protobuf.Type {
    return this.#type;
  }

  encode(message: Record<string, unknown>): Uint8Array {
    try {
      const value = this.#hasLongs ? (bigintsToStrings(message) as Record<string, unknown>) : message;
      if (this.#hasLongs) return this.#type.encode(this.#type.fromObject(value)).finish();
      return this.#type.encode(value).finish();
    } catch (err) {
      throw new StatusError(Status.INTERNAL, `cannot encode ${this.fullName}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  decode(bytes: Uint8Array): Record<string, unknown> {
    try {
      return this.#type.decode(bytes) as unknown as Record<string, unknown>;
    } catch (err) {
      throw new StatusError(
        Status.INVALID_ARGUMENT,
        `malformed ${this.fullName} message: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  toJson(message: Record<string, unknown>): JsonValue {
    try {
      const value = this.#hasLongs ? this.#type.fromObject(bigintsToStrings(message) as object) : message;
      return protojson.toJson(this.#type, value as protobuf.Message) as JsonValue;
    } catch (err) {
      throw new StatusError(Status.INTERNAL, `cannot convert ${this.fullName} to JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  fromJson(json: unknown): Record<string, unknown> {
    try {
      return protojson.fromJson(this.#type, json as object) as unknown as Record<string, unknown>;
    } catch (err) {
      throw new StatusError(Status.INVALID_ARGUMENT, `invalid JSON for ${this.fullName}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  create(init?: Record<string, unknown>): Record<string, unknown> {
    return this.#type.fromObject(init ?? {}) as unknown as Record<string, unknown>;
  }
}

function fieldInfo(field: protobuf.Field): FieldInfo {
  const resolved = field.resolvedType;
  const kind = resolved instanceof protobuf.Enum ? 'enum' : resolved ? 'message' : 'scalar';
  return {
    name: (field.options?.['(original_name)'] as string | undefined) ?? protoName(field),
    jsonName: field.name,
    type: resolved ? resolved.fullName.replace(/^\./, '') : field.type,
    repeated: field.repeated,
    map: field.map,
    kind,
  };
}

/** protobufjs keeps camelCase names; the proto name is recovered from the descriptor if known. */
function protoName(field: protobuf.Field): string {
  return field.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function hasLongs(type: protobuf.Type, seen: Set<protobuf.Type>): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  for (const field of type.fieldsArray) {
    field.resolve();
    if (LONG_TYPES.has(field.type) || (field instanceof protobuf.MapField && LONG_TYPES.has(field.keyType))) {
      return true;
    }
    if (field.resolvedType instanceof protobuf.Type && hasLongs(field.resolvedType, seen)) return true;
  }
  return false;
}

/** protobufjs would write a bigint as 0: hand it strings, which it parses exactly. */
function bigintsToStrings(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(bigintsToStrings);
  if ('low' in value && 'high' in value) return value; // a Long
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = bigintsToStrings(v);
  return out;
}
