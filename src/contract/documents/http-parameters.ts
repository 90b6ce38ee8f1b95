/**
 * The parameters of one HTTP rule, as the server binds them (transports/http/request-binding.ts):
 * path variables, then — unless the body is the whole request — a query parameter for every
 * field that is neither in the path nor in the body, nested fields as "a.b", repeated ones
 * repeated ("tags=a&tags=b"), map entries as "labels[key]=v".
 */
import protobuf from 'protobufjs';
import type { HttpRule } from '../http-rules.ts';
import type { OpenApiPath } from './http-paths.ts';
import { fullNameOf, type SchemaCollector } from './json-schema.ts';
import type { JsonSchema } from './schema-types.ts';

/** Well-known messages that path and query text can hold: their JSON is a string or a scalar. */
const TEXT_MESSAGES = new Set([
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
  'google.protobuf.FieldMask',
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

/** A field of `type` by the name a template or rule spells it: proto name or JSON name. */
export function findField(type: protobuf.Type, name: string): protobuf.Field | undefined {
  for (const field of type.fieldsArray) {
    if (field.name === name || field.jsonName === name || field.protoName === name) return field.resolve();
  }
  return undefined;
}

/** The fields along "a.b.c"; undefined when a step is missing or not a singular message. */
export function fieldPath(type: protobuf.Type, path: readonly string[]): protobuf.Field[] | undefined {
  const fields: protobuf.Field[] = [];
  let current: protobuf.Type | undefined = type;
  for (const name of path) {
    const field: protobuf.Field | undefined = current && findField(current, name);
    if (!field) return undefined;
    fields.push(field);
    current = field.resolvedType instanceof protobuf.Type && !field.repeated ? field.resolvedType : undefined;
  }
  return fields;
}

export function pathParameters(
  input: protobuf.Type,
  path: OpenApiPath,
  collector: SchemaCollector,
  ignored: boolean,
): JsonSchema[] {
  return path.variables.map((variable) => {
    const fields = variable.fieldPath && fieldPath(input, variable.fieldPath);
    const leaf = fields?.at(-1);
    let schema: JsonSchema;
    const notes: string[] = [];
    if (variable.pattern !== undefined) {
      schema = { type: 'string', pattern: variable.pattern };
      notes.push(`Spans several path segments (${variable.segments}): send its "/" unencoded.`);
    } else {
      schema = leaf ? collector.valueSchema(leaf) : { type: 'string' };
    }
    if (!variable.fieldPath) notes.push('Any segment; the server ignores its value.');
    else if (ignored) notes.push('Must match the route; the request messages come from the body.');
    else if (leaf) notes.push(`Sets ${variable.name} of ${fullNameOf(input)}.`);
    return { name: variable.name, in: 'path', required: true, description: notes.join(' '), schema };
  });
}

/** The query parameters of a rule whose body is not the whole request. */
export function queryParameters(
  input: protobuf.Type,
  rule: HttpRule,
  path: OpenApiPath,
  collector: SchemaCollector,
): JsonSchema[] {
  if (rule.body === '*') return [];
  const taken = new Set<string>();
  for (const variable of path.variables) {
    const fields = variable.fieldPath && fieldPath(input, variable.fieldPath);
    if (fields) taken.add(fields.map((f) => f.jsonName).join('.'));
  }
  if (rule.body !== '') {
    const fields = fieldPath(input, rule.body.split('.'));
    if (fields) taken.add(fields.map((f) => f.jsonName).join('.'));
  }
  const out: JsonSchema[] = [];
  collect(input, [], new Set([input]), taken, collector, out);
  return out;
}

function collect(
  type: protobuf.Type,
  prefix: readonly string[],
  enclosing: Set<protobuf.Type>,
  taken: ReadonlySet<string>,
  collector: SchemaCollector,
  out: JsonSchema[],
): void {
  for (const field of type.fieldsArray) {
    field.resolve();
    const name = [...prefix, field.jsonName].join('.');
    if (taken.has(name)) continue;
    const resolved = field.resolvedType;
    if (resolved && fullNameOf(resolved) === 'google.protobuf.NullValue') continue; // JSON null only
    const textual = !(resolved instanceof protobuf.Type) || TEXT_MESSAGES.has(fullNameOf(resolved));
    if (field.map) {
      if (!textual) continue;
      out.push({
        name,
        in: 'query',
        style: 'deepObject',
        explode: true,
        description: `Entries as ${name}[key]=value.`,
        schema: { type: 'object', additionalProperties: collector.valueSchema(field) },
      });
    } else if (textual) {
      const value = collector.valueSchema(field);
      const parameter: JsonSchema = { name, in: 'query' };
      if (field.repeated) {
        parameter.style = 'form';
        parameter.explode = true;
        parameter.schema = { type: 'array', items: value };
      } else {
        parameter.schema = value;
      }
      if (field.comment) parameter.description = field.comment;
      out.push(parameter);
    } else if (
      !field.repeated &&
      resolved instanceof protobuf.Type &&
      !enclosing.has(resolved) &&
      // Other well-known types (Struct, Any, …) have JSON forms that query text cannot spell.
      !fullNameOf(resolved).startsWith('google.protobuf.')
    ) {
      // A recursive message would nest forever: each type is expanded once along a path.
      const inner = new Set(enclosing).add(resolved);
      collect(resolved, [...prefix, field.jsonName], inner, taken, collector, out);
    }
  }
}
