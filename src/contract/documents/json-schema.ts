/**
 * JSON Schema of the proto3 canonical JSON mapping, as codec.ts writes it: lowerCamelCase (or
 * json_name) members, 64-bit integers as decimal strings, bytes as base64, enums by name,
 * float specials as "NaN"/"Infinity"/"-Infinity", and the well-known types' own JSON forms.
 *
 * Every message and enum is one named definition referenced by `$ref`, so recursive messages
 * are finite. The keywords stay within what draft-07 and 2020-12 share, so the same schemas
 * serve OpenAPI 3.1 and AsyncAPI 3.0 (whose default schema format is draft-07 based).
 */
import protobuf from 'protobufjs';
import { ProtobufMessageType } from '../codec.ts';
import type { MessageType } from '../descriptors.ts';
import { mapKeySchema, scalarSchema } from './scalars.ts';
import type { JsonSchema } from './schema-types.ts';
import { wellKnownSchema } from './well-known.ts';

export type { JsonSchema } from './schema-types.ts';

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/**
 * Collects the definitions a set of schemas refers to. `refPrefix` is where they will live:
 * "#/$defs/" for a standalone schema, "#/components/schemas/" in OpenAPI and AsyncAPI.
 */
export class SchemaCollector {
  readonly refPrefix: string;
  readonly #definitions = new Map<string, JsonSchema>();

  constructor(refPrefix: string) {
    this.refPrefix = refPrefix;
  }

  /** The definitions by full name, in the order they were first referred to. */
  get definitions(): Record<string, JsonSchema> {
    return Object.fromEntries(this.#definitions);
  }

  /** `{"$ref": …}` to the message's definition, collected with everything it refers to. */
  messageRef(type: MessageType | protobuf.Type): JsonSchema {
    const reflection = type instanceof protobuf.Type ? type : reflectionOf(type);
    return this.#ref(reflection, () => this.#messageSchema(reflection));
  }

  enumRef(type: protobuf.Enum): JsonSchema {
    return this.#ref(type, () => enumSchema(type));
  }

  /** The schema of one value of `field` (an element for repeated fields, a value for maps). */
  valueSchema(field: protobuf.Field): JsonSchema {
    field.resolve();
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.messageRef(resolved);
    if (resolved instanceof protobuf.Enum) return this.enumRef(resolved);
    return scalarSchema(field.type);
  }

  /** The schema of the field's whole JSON member: arrays for repeated fields, objects for maps. */
  fieldSchema(field: protobuf.Field): JsonSchema {
    const value = this.valueSchema(field);
    let schema: JsonSchema;
    if (field.map) {
      schema = { type: 'object', additionalProperties: value };
      const keys = field instanceof protobuf.MapField ? mapKeySchema(field.keyType) : undefined;
      if (keys) schema.propertyNames = keys;
    } else if (field.repeated) {
      schema = { type: 'array', items: value };
    } else {
      schema = value;
    }
    const description = describeField(field);
    // A $ref with siblings is fine in 2020-12 and OpenAPI 3.1; draft-07 ignores them, harmlessly.
    return description ? { ...schema, description } : schema;
  }

  #ref(type: protobuf.ReflectionObject, build: () => JsonSchema): JsonSchema {
    const name = fullNameOf(type);
    if (!this.#definitions.has(name)) {
      // Reserved before building, so a message that contains itself refers to itself.
      this.#definitions.set(name, {});
      this.#definitions.set(name, build());
    }
    return { $ref: `${this.refPrefix}${name}` };
  }

  #messageSchema(type: protobuf.Type): JsonSchema {
    const wellKnown = wellKnownSchema(fullNameOf(type));
    if (wellKnown) return { title: fullNameOf(type), ...wellKnown };
    const properties: JsonSchema = {};
    for (const field of type.fieldsArray) properties[field.jsonName] = this.fieldSchema(field);
    const schema: JsonSchema = { title: fullNameOf(type), type: 'object', properties };
    if (type.comment) schema.description = type.comment;
    schema.additionalProperties = false;
    const oneofs = type.oneofsArray.filter((o) => !o.isProto3Optional && o.fieldsArray.length > 1);
    const constraints = oneofs.map(oneofConstraint);
    if (constraints.length === 1) Object.assign(schema, constraints[0]);
    else if (constraints.length > 1) schema.allOf = constraints;
    return schema;
  }
}

/** A standalone JSON Schema (2020-12) of a message's canonical JSON: `$ref` into `$defs`. */
export function jsonSchemaOf(type: MessageType): JsonSchema {
  const collector = new SchemaCollector('#/$defs/');
  const ref = collector.messageRef(type);
  return { $schema: JSON_SCHEMA_DIALECT, ...ref, $defs: collector.definitions };
}

/** The protobufjs reflection behind a MessageType (documents need field-level detail). */
export function reflectionOf(type: MessageType): protobuf.Type {
  if (!(type instanceof ProtobufMessageType)) {
    throw new Error(`${type.fullName}: API documents need a protobufjs message type`);
  }
  return type.reflection;
}

export function fullNameOf(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '');
}

function enumSchema(type: protobuf.Enum): JsonSchema {
  if (fullNameOf(type) === 'google.protobuf.NullValue')
    return { title: 'google.protobuf.NullValue', type: 'null' };
  const names = Object.keys(type.values).map((name) => enumJsonName(type, name) ?? name);
  const schema: JsonSchema = { title: fullNameOf(type), type: 'string', enum: [...new Set(names)] };
  if (type.comment) schema.description = type.comment;
  return schema;
}

/** The `(pb.enumvalue.json).string` spelling protojson honours, when a value sets one. */
function enumJsonName(type: protobuf.Enum, name: string): string | undefined {
  const value = type.valuesOptions?.[name]?.['(pb.enumvalue.json).string'];
  return typeof value === 'string' ? value : undefined;
}

/**
 * At most one member of a oneof: exactly one branch holds when one member is present (only
 * its branch) or none is (the last branch), and two present members match two branches.
 */
function oneofConstraint(oneof: protobuf.OneOf): JsonSchema {
  const members = oneof.fieldsArray.map((f) => ({ required: [f.jsonName] }));
  return { oneOf: [...members, { not: { anyOf: members } }] };
}

function describeField(field: protobuf.Field): string | undefined {
  const parts: string[] = [];
  if (field.comment) parts.push(field.comment);
  const oneof = field.partOf;
  if (oneof && !oneof.isProto3Optional) {
    const others = oneof.fieldsArray.map((f) => f.jsonName).join(', ');
    parts.push(`Member of oneof ${oneof.name}: at most one of ${others} is set.`);
  }
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}
