import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { extendeeOf, type ProtoFile } from './proto-files.ts';

/**
 * FileDescriptorProto bytes for a ProtoFile, as protoc would write them for the parts that
 * survive in protobufjs reflection. protobufjs' own `Root#toDescriptor` names files after
 * packages, leaves dependencies empty and type names relative, and lists extension fields
 * inside the types they extend, so the descriptors are assembled here instead, with the
 * descriptor extension's message types for the encoding. Kept: messages, fields (names, JSON
 * names, labels, proto3 optional, defaults, packed, deprecated), oneofs, maps, nested types,
 * enums, services, methods (streaming, idempotency_level, deprecated, google.api.http),
 * extensions, reserved and extension ranges. Lost: comments and source info, file options
 * (java_package, go_package, …) and custom options other than google.api.http.
 */
export function fileDescriptorBytes(file: ProtoFile): Uint8Array {
  return descriptor.FileDescriptorProto.encode(fileDescriptorObject(file)).finish();
}

type Obj = Record<string, unknown>;

/** google.api.http's field number in google.protobuf.MethodOptions. */
const HTTP_RULE_FIELD = 72295728;

const SCALAR_TYPES: Record<string, number> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_GROUP = 10;
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REQUIRED = 2;
const LABEL_REPEATED = 3;
const MAX_FIELD_NUMBER = 536_870_911;
/** google.protobuf.Edition numbers. */
const EDITIONS: Record<string, number> = { '2023': 1000, '2024': 1001 };

export function fileDescriptorObject(file: ProtoFile): Obj {
  const out: Obj = {
    name: file.name,
    dependency: [...file.dependencies],
    messageType: [],
    enumType: [],
    service: [],
    extension: [],
  };
  if (file.package) out.package = file.package;
  if (file.syntax === 'proto2' || file.syntax === 'proto3') out.syntax = file.syntax;
  else {
    out.syntax = 'editions';
    out.edition = EDITIONS[file.syntax];
  }
  for (const member of file.members) {
    if (member instanceof protobuf.Type) (out.messageType as Obj[]).push(message(member, file.syntax));
    else if (member instanceof protobuf.Enum) (out.enumType as Obj[]).push(enumeration(member));
    else if (member instanceof protobuf.Service) (out.service as Obj[]).push(service(member));
    else (out.extension as Obj[]).push(field(member as protobuf.Field, file.syntax));
  }
  return out;
}

function message(type: protobuf.Type, syntax: string): Obj {
  const out: Obj = { name: type.name, field: [], nestedType: [], enumType: [], extension: [], oneofDecl: [] };
  const fields = out.field as Obj[];
  const nestedTypes = out.nestedType as Obj[];
  // protoc requires synthetic (proto3 optional) oneofs after the real ones.
  const oneofs = [...type.oneofsArray].sort((a, b) => Number(isSynthetic(a)) - Number(isSynthetic(b)));
  for (const f of type.fieldsArray) {
    if (f.declaringField) continue; // an extension declared elsewhere, copied in by protobufjs
    const d = field(f, syntax);
    if (f.partOf) d.oneofIndex = oneofs.indexOf(f.partOf);
    fields.push(d);
    if (f instanceof protobuf.MapField) nestedTypes.push(mapEntry(f));
  }
  for (const oneof of oneofs) (out.oneofDecl as Obj[]).push({ name: oneof.name });
  for (const nested of type.nestedArray) {
    if (nested instanceof protobuf.Type) nestedTypes.push(message(nested, syntax));
    else if (nested instanceof protobuf.Enum) (out.enumType as Obj[]).push(enumeration(nested));
    else if (nested instanceof protobuf.Field) (out.extension as Obj[]).push(field(nested, syntax));
  }
  if (type.extensions) {
    out.extensionRange = type.extensions.map(([start, end]) => ({
      start,
      end: Math.min(end ?? MAX_FIELD_NUMBER, MAX_FIELD_NUMBER) + 1,
    }));
  }
  if (type.reserved) {
    out.reservedRange = [];
    out.reservedName = [];
    for (const r of type.reserved) {
      if (typeof r === 'string') (out.reservedName as string[]).push(r);
      else (out.reservedRange as Obj[]).push({ start: r[0], end: (r[1] ?? r[0] ?? 0) + 1 });
    }
  }
  if (type.options?.deprecated) out.options = { deprecated: true };
  return out;
}

function isSynthetic(oneof: protobuf.OneOf): boolean {
  return oneof.fieldsArray.length === 1 && oneof.fieldsArray[0]?.options?.proto3_optional === true;
}

function field(f: protobuf.Field, syntax: string): Obj {
  f.resolve();
  const out: Obj = { name: f.protoName, number: f.id, jsonName: f.jsonName };
  const options: Obj = {};
  if (f instanceof protobuf.MapField) {
    out.label = LABEL_REPEATED;
    out.type = TYPE_MESSAGE;
    out.typeName = `${f.parent?.fullName}.${mapEntryName(f.protoName)}`;
  } else {
    out.label = f.repeated
      ? LABEL_REPEATED
      : f.required && syntax === 'proto2'
        ? LABEL_REQUIRED
        : LABEL_OPTIONAL;
    Object.assign(out, fieldType(f.type, f.resolvedType, f.delimited));
    if (f.options?.proto3_optional) out.proto3Optional = true;
    const defaultValue = f.options?.default;
    if (defaultValue !== undefined && !f.repeated) out.defaultValue = String(defaultValue);
    if (f.repeated && f.options && 'packed' in f.options) options.packed = Boolean(f.options.packed);
  }
  if (f.extend) out.extendee = `.${extendeeOf(f)}`;
  if (f.options?.deprecated) options.deprecated = true;
  if (Object.keys(options).length > 0) out.options = options;
  return out;
}

function fieldType(type: string, resolved: protobuf.Type | protobuf.Enum | null, delimited: boolean): Obj {
  if (resolved instanceof protobuf.Enum) return { type: TYPE_ENUM, typeName: resolved.fullName };
  if (resolved) return { type: delimited ? TYPE_GROUP : TYPE_MESSAGE, typeName: resolved.fullName };
  return { type: SCALAR_TYPES[type] ?? SCALAR_TYPES.bytes };
}

/** protoc's name for a map field's entry message: "labels" → "LabelsEntry". */
function mapEntryName(protoName: string): string {
  const camel = protoName.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

function mapEntry(f: protobuf.MapField): Obj {
  const value: Obj = { name: 'value', number: 2, label: LABEL_OPTIONAL, jsonName: 'value' };
  Object.assign(value, fieldType(f.type, f.resolvedType, false));
  return {
    name: mapEntryName(f.protoName ?? f.name),
    field: [
      {
        name: 'key',
        number: 1,
        label: LABEL_OPTIONAL,
        type: SCALAR_TYPES[f.keyType ?? 'string'],
        jsonName: 'key',
      },
      value,
    ],
    options: { mapEntry: true },
  };
}

function enumeration(e: protobuf.Enum): Obj {
  const out: Obj = {
    name: e.name,
    value: Object.entries(e.values).map(([name, number]) => {
      const value: Obj = { name, number };
      if (e.valuesOptions?.[name]?.deprecated) value.options = { deprecated: true };
      return value;
    }),
  };
  const options: Obj = {};
  if (e.options?.allow_alias) options.allowAlias = true;
  if (e.options?.deprecated) options.deprecated = true;
  if (Object.keys(options).length > 0) out.options = options;
  return out;
}

function service(s: protobuf.Service): Obj {
  const out: Obj = { name: s.name, method: s.methodsArray.map(method) };
  if (s.options?.deprecated) out.options = { deprecated: true };
  return out;
}

function method(m: protobuf.Method): Obj {
  m.resolve();
  const out: Obj = {
    name: m.name,
    inputType: m.resolvedRequestType?.fullName ?? m.requestType,
    outputType: m.resolvedResponseType?.fullName ?? m.responseType,
  };
  if (m.requestStream) out.clientStreaming = true;
  if (m.responseStream) out.serverStreaming = true;
  const options: Obj = {};
  if (m.options?.deprecated) options.deprecated = true;
  const level = idempotencyLevel(m.options?.idempotency_level);
  if (level) options.idempotencyLevel = level;
  const http = httpRuleBytes(m);
  // MethodOptions has no field for the extension: it travels as an unknown field, byte-exact.
  if (http) options.$unknowns = [http];
  if (Object.keys(options).length > 0) out.options = options;
  return out;
}

function idempotencyLevel(level: unknown): number | undefined {
  if (level === 'NO_SIDE_EFFECTS' || level === 1) return 1;
  if (level === 'IDEMPOTENT' || level === 2) return 2;
  return undefined;
}

/** The method's google.api.http option as an encoded MethodOptions field, if it has one. */
function httpRuleBytes(m: protobuf.Method): Uint8Array | undefined {
  const raw = (m.parsedOptions as Obj[] | undefined)?.find((o) => '(google.api.http)' in o)?.[
    '(google.api.http)'
  ];
  if (!raw) return undefined;
  const ruleType = m.root.lookup('google.api.HttpRule');
  if (!(ruleType instanceof protobuf.Type)) return undefined;
  try {
    const rule = ruleType.fromObject(normalizeRule(raw));
    const bytes = ruleType.encode(rule).finish();
    return protobuf.Writer.create()
      .uint32((HTTP_RULE_FIELD << 3) | 2)
      .bytes(bytes)
      .finish();
  } catch {
    return undefined; // an option protobufjs parsed but cannot re-encode is dropped, not fatal
  }
}

/** Parsed option text (snake_case keys, one binding or a list) to HttpRule's object form. */
function normalizeRule(raw: unknown): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(raw as Obj)) {
    const camel = key.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
    out[camel] =
      camel === 'additionalBindings' ? (Array.isArray(value) ? value : [value]).map(normalizeRule) : value;
  }
  return out;
}
