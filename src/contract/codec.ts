import Long from 'long';
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import type { FieldInfo, JsonReadOptions, JsonValue, MessageType } from './descriptors.ts';
import { StatusError } from './errors.ts';
import { Status } from './status.ts';

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
      // Converting first lets 64-bit fields arrive as bigint, string or number.
      const value = this.#hasLongs ? (toLongs(this.#type, message) as Record<string, unknown>) : message;
      // protobufjs writes a wrongly typed field as garbage; verifying costs almost nothing.
      const problem = this.#type.verify(value);
      if (problem) throw new Error(problem);
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
      const value = this.#hasLongs ? (toLongs(this.#type, message) as Record<string, unknown>) : message;
      return protojson.toJson(this.#type, value as object) as JsonValue;
    } catch (err) {
      throw new StatusError(
        Status.INTERNAL,
        `cannot convert ${this.fullName} to JSON: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  fromJson(json: unknown, options?: JsonReadOptions): Record<string, unknown> {
    try {
      return protojson.fromJson(this.#type, json as object, options) as unknown as Record<string, unknown>;
    } catch (err) {
      throw new StatusError(
        Status.INVALID_ARGUMENT,
        `invalid JSON for ${this.fullName}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
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

/**
 * A copy of `value` whose 64-bit fields are Long objects. protobufjs would write a bigint as 0
 * and refuses strings in verify(); callers may use bigint, string or number.
 */
function toLongs(type: protobuf.Type, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const field of type.fieldsArray) {
    const v = out[field.name];
    if (v === undefined || v === null) continue;
    const convert = LONG_TYPES.has(field.type)
      ? (x: unknown) => toLong(x, field.type.startsWith('u') || field.type === 'fixed64')
      : field.resolvedType instanceof protobuf.Type
        ? (x: unknown) => toLongs(field.resolvedType as protobuf.Type, x)
        : undefined;
    if (!convert) continue;
    if (field.map) {
      const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, convert(x)]);
      out[field.name] = Object.fromEntries(entries);
    } else if (field.repeated && Array.isArray(v)) {
      out[field.name] = v.map(convert);
    } else {
      out[field.name] = convert(v);
    }
  }
  return out;
}

function toLong(value: unknown, unsigned: boolean): unknown {
  if (typeof value === 'bigint') return Long.fromString(value.toString(), unsigned);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Long.fromString(value, unsigned);
  if (typeof value === 'number' && Number.isInteger(value)) return Long.fromNumber(value, unsigned);
  return value; // a Long already, or something verify() will name
}
