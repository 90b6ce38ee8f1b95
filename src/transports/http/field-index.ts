import protobuf from 'protobufjs';
import { ProtobufMessageType } from '../../contract/codec.ts';
import type { JsonValue, MessageType } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';

/**
 * The fields of a message as REST bindings need them: found by proto name ("user_id") or JSON
 * name ("userId"), with enough type information to turn path and query text into ProtoJSON.
 */
export interface FieldNode {
  readonly protoName: string;
  /** The key ProtoJSON writes, and the key bindings write. */
  readonly jsonName: string;
  /** Other keys a JSON object may spell this field with (proto name, property name). */
  readonly aliases: readonly string[];
  readonly kind: 'scalar' | 'enum' | 'message';
  /** Scalar type ("int32", "bool"…), or the enum's / message's full name without a leading dot. */
  readonly type: string;
  readonly repeated: boolean;
  readonly map: boolean;
  /** The fields of a message-typed field (of a map's value type for maps). */
  children(): FieldIndex | undefined;
  /** The ProtoJSON value of the field when it is unset. */
  defaultJson(): JsonValue;
}

export interface FieldIndex {
  readonly fields: readonly FieldNode[];
  get(name: string): FieldNode | undefined;
}

const cache = new WeakMap<protobuf.Type, FieldIndex>();

/** The field index of a message type (only ProtobufMessageType carries the reflection needed). */
export function fieldIndexOf(type: MessageType): FieldIndex {
  if (!(type instanceof ProtobufMessageType)) {
    throw new Error(`${type.fullName}: HTTP bindings need a protobufjs message type`);
  }
  return indexOf(type.reflection);
}

function indexOf(type: protobuf.Type): FieldIndex {
  let index = cache.get(type);
  if (!index) {
    const fields = type.fieldsArray.map(nodeOf);
    const byName = new Map<string, FieldNode>();
    for (const node of fields) {
      byName.set(node.jsonName, node);
      for (const alias of node.aliases) byName.set(alias, node);
    }
    index = { fields, get: (name) => byName.get(name) };
    cache.set(type, index);
  }
  return index;
}

function nodeOf(field: protobuf.Field): FieldNode {
  field.resolve();
  const resolved = field.resolvedType;
  const kind =
    resolved instanceof protobuf.Enum ? 'enum' : resolved instanceof protobuf.Type ? 'message' : 'scalar';
  const aliases = [...new Set([field.protoName, field.name])].filter((n) => n !== field.jsonName);
  const type = resolved ? resolved.fullName.replace(/^\./, '') : field.type;
  return {
    protoName: field.protoName,
    jsonName: field.jsonName,
    aliases,
    kind,
    type,
    repeated: field.repeated && !field.map,
    map: field.map,
    children: () => (resolved instanceof protobuf.Type ? indexOf(resolved) : undefined),
    defaultJson: () => {
      if (field.map) return {};
      if (field.repeated || kind === 'message') return field.repeated ? [] : null;
      if (resolved instanceof protobuf.Enum) return resolved.valuesById[0] ?? 0;
      return scalarDefault(field.type);
    },
  };
}

function scalarDefault(type: string): JsonValue {
  switch (type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return '0';
    default:
      return 0;
  }
}

/** Resolves "a.b.c" against a message's fields; every step but the last must be a singular message. */
export function resolveFieldPath(index: FieldIndex, path: readonly string[]): FieldNode[] | undefined {
  const nodes: FieldNode[] = [];
  let current: FieldIndex | undefined = index;
  for (let i = 0; i < path.length; i++) {
    const node: FieldNode | undefined = current?.get(path[i] as string);
    if (!node) return undefined;
    if (i < path.length - 1 && (node.kind !== 'message' || node.repeated || node.map)) return undefined;
    nodes.push(node);
    current = node.children();
  }
  return nodes;
}

/**
 * The ProtoJSON value of text from a path or a query parameter. ProtoJSON already accepts
 * numbers, 64-bit integers, bytes and well-known types as strings; only booleans and numeric
 * enum values need converting.
 */
export function jsonFromText(node: FieldNode, text: string): JsonValue {
  if (node.kind === 'enum') return /^-?\d+$/.test(text) ? Number(text) : text;
  if (node.type === 'bool' || node.type === 'google.protobuf.BoolValue') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw new StatusError(
      Status.INVALID_ARGUMENT,
      `field ${node.protoName} expects true or false, got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/**
 * The member of `object` holding `node`, under whichever spelling it was sent; any alias is
 * moved to the JSON name so that a later write cannot produce a duplicate field.
 */
export function takeMember(object: Record<string, unknown>, node: FieldNode): unknown {
  let value = object[node.jsonName];
  for (const alias of node.aliases) {
    if (Object.hasOwn(object, alias)) {
      if (value === undefined) value = object[alias];
      delete object[alias];
    }
  }
  return value;
}

/** The object at `nodes` (all but the last), created where missing; fails if a non-object is in the way. */
export function parentObject(
  root: Record<string, unknown>,
  nodes: readonly FieldNode[],
): Record<string, unknown> {
  let target = root;
  for (let i = 0; i < nodes.length - 1; i++) {
    const node = nodes[i] as FieldNode;
    let next = takeMember(target, node);
    if (next === undefined || next === null) next = {};
    else if (typeof next !== 'object' || Array.isArray(next)) {
      throw new StatusError(Status.INVALID_ARGUMENT, `field ${node.protoName} must be an object`);
    }
    target[node.jsonName] = next;
    target = next as Record<string, unknown>;
  }
  return target;
}
