import path from 'node:path';
import protobuf from 'protobufjs';
import { lowerFirst } from '../contract/descriptors.ts';
import type { ProtoFile, ProtoFileSet } from '../services/proto-files.ts';

export interface GenerateOptions {
  /** The module generated files import the method markers from. "switchboard/core" unless set. */
  runtimeImport?: string;
  /** Extension of imports between generated files: ".ts" (the default), ".js" or "" for none. */
  importExtension?: string;
}

export interface GeneratedFile {
  /** Relative to the output folder: "echo.ts", "google/protobuf/timestamp.ts". */
  readonly path: string;
  readonly content: string;
}

const SCALARS: Record<string, string> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'Int64',
  uint64: 'Int64',
  sint64: 'Int64',
  fixed64: 'Int64',
  sfixed64: 'Int64',
  bool: 'boolean',
  string: 'string',
  bytes: 'Uint8Array',
};

const MARKERS: Record<string, string> = {
  unary: 'UnaryMethod',
  server_streaming: 'ServerStreamingMethod',
  client_streaming: 'ClientStreamingMethod',
  bidi_streaming: 'BidiStreamingMethod',
};

/** The helper types of 64-bit fields, under names that a .proto's own types do not take. */
const int64Helpers = (
  long: string,
  int64: string,
) => `/** A 64-bit integer as protobufjs decodes it: a Long of the 'long' package. */
export interface ${long} {
  readonly low: number;
  readonly high: number;
  readonly unsigned: boolean;
  toString(radix?: number): string;
  toNumber(): number;
}

/** 64-bit integer fields: decoded messages hold a Long; a number, decimal string or bigint may be sent. */
export type ${int64} = ${long} | number | string | bigint;
`;

/** Where a generated declaration lives: its file and its TypeScript name there. */
interface Declared {
  file: ProtoFile;
  name: string;
}

/**
 * TypeScript for the given .proto files: one .ts file per .proto file, beside each other as
 * the .proto names say ("google/protobuf/timestamp.proto" → "google/protobuf/timestamp.ts"),
 * plus a file for each dependency that declares a type the others use.
 */
export function generateTypeScript(
  set: ProtoFileSet,
  entries: readonly ProtoFile[],
  options: GenerateOptions = {},
): GeneratedFile[] {
  const declared = new Map<string, Declared>();
  for (const file of set.files) {
    for (const member of file.members) {
      if (member instanceof protobuf.Type || member instanceof protobuf.Enum) declare(member, file, declared);
    }
  }
  const out: GeneratedFile[] = [];
  const queue = [...entries];
  const done = new Set<ProtoFile>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (done.has(file)) continue;
    done.add(file);
    const writer = new FileWriter(file, declared, options);
    out.push({ path: outputPath(file), content: writer.write() });
    for (const dep of writer.importedFiles) queue.push(dep);
  }
  return out;
}

/** Nested types flatten with "_": sb.test.Outer.Inner → Outer_Inner. */
function declare(
  type: protobuf.Type | protobuf.Enum,
  file: ProtoFile,
  declared: Map<string, Declared>,
): void {
  const relative = file.package ? type.fullName.slice(file.package.length + 2) : type.fullName.slice(1);
  declared.set(type.fullName, { file, name: relative.replace(/\./g, '_') });
  if (type instanceof protobuf.Type) {
    for (const nested of type.nestedArray) {
      if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) declare(nested, file, declared);
    }
  }
}

/** The .proto name with .ts, kept inside the output folder even for names like "../x.proto". */
function outputPath(file: ProtoFile): string {
  const inside = path.posix.normalize(file.name).replace(/^(\.\.\/|\/)+/, '');
  return `${inside.replace(/\.proto$/, '')}.ts`;
}

/** Writes one .ts file; collects the names it imports from other generated files. */
class FileWriter {
  readonly importedFiles = new Set<ProtoFile>();
  readonly #file: ProtoFile;
  readonly #declared: Map<string, Declared>;
  readonly #options: GenerateOptions;
  readonly #imports = new Map<ProtoFile, Map<string, string>>();
  readonly #markers = new Set<string>();
  readonly #localNames = new Set<string>();
  readonly #body: string[] = [];
  #usesInt64 = false;
  readonly #longName: string;
  readonly #int64Name: string;

  constructor(file: ProtoFile, declared: Map<string, Declared>, options: GenerateOptions) {
    this.#file = file;
    this.#declared = declared;
    this.#options = options;
    for (const { file: f, name } of declared.values()) if (f === file) this.#localNames.add(name);
    this.#longName = this.#unique('Long');
    this.#int64Name = this.#unique('Int64');
  }

  write(): string {
    for (const member of this.#file.members) {
      if (member instanceof protobuf.Type) this.#message(member);
      else if (member instanceof protobuf.Enum) this.#enum(member);
    }
    for (const member of this.#file.members) {
      if (member instanceof protobuf.Service) this.#service(member);
    }
    const head = [
      `// Generated by \`switchboard gen\` from ${this.#file.name}${this.#file.package ? ` (package ${this.#file.package})` : ''}. Do not edit.`,
      '',
    ];
    if (this.#markers.size > 0) {
      const runtime = this.#options.runtimeImport ?? 'switchboard/core';
      head.push(`import type { ${[...this.#markers].sort().join(', ')} } from '${runtime}';`);
    }
    for (const [file, names] of this.#imports) {
      const specifiers = [...names].map(([name, local]) => (name === local ? name : `${name} as ${local}`));
      head.push(`import type { ${specifiers.sort().join(', ')} } from '${this.#importPath(file)}';`);
    }
    if (head.length > 2) head.push('');
    if (this.#usesInt64) head.push(int64Helpers(this.#longName, this.#int64Name));
    return `${[...head, ...this.#body].join('\n').trimEnd()}\n`;
  }

  #message(type: protobuf.Type): void {
    const name = this.#nameOf(type);
    const lines = [...docComment(type.comment, type.fullName.slice(1)), `export interface ${name} {`];
    for (const field of type.fieldsArray) {
      if (field.declaringField) continue; // an extension declared elsewhere
      field.resolve();
      const synthetic = field.options?.proto3_optional === true;
      const optional = Boolean(field.partOf) || synthetic;
      lines.push(...docComment(field.comment, undefined, '  '));
      lines.push(`  ${field.name}${optional ? '?' : ''}: ${this.#fieldType(field)};`);
    }
    for (const oneof of type.oneofsArray) {
      const synthetic =
        oneof.fieldsArray.length === 1 && oneof.fieldsArray[0]?.options?.proto3_optional === true;
      if (synthetic) continue;
      const members = oneof.fieldsArray.map((f) => `'${f.name}'`).join(' | ');
      lines.push(`  /** Which member of the oneof is set (a property of decoded messages). */`);
      lines.push(`  readonly ${oneof.name}?: ${members};`);
    }
    lines.push('}', '');
    this.#body.push(...lines);
    for (const nested of type.nestedArray) {
      if (nested instanceof protobuf.Type) this.#message(nested);
      else if (nested instanceof protobuf.Enum) this.#enum(nested);
    }
  }

  #enum(e: protobuf.Enum): void {
    const name = this.#nameOf(e);
    const lines = [...docComment(e.comment, e.fullName.slice(1)), `export const ${name} = {`];
    for (const [key, value] of Object.entries(e.values)) {
      lines.push(...docComment(e.comments?.[key] ?? null, undefined, '  '));
      lines.push(`  ${key}: ${value},`);
    }
    lines.push('} as const;');
    lines.push(`export type ${name} = (typeof ${name})[keyof typeof ${name}];`, '');
    this.#body.push(...lines);
  }

  #service(service: protobuf.Service): void {
    const base = service.name.endsWith('Service') ? service.name : `${service.name}Service`;
    const typeName = this.#unique(base);
    const constName = this.#unique(`${base}Name`);
    const fullName = service.fullName.slice(1);
    const lines = [
      `/** The full name of ${fullName}: \`contract.service(${constName})\`. */`,
      `export const ${constName} = '${fullName}';`,
      '',
      ...docComment(
        service.comment,
        `${fullName}: for createClient<${typeName}>() and host.add<${typeName}>().`,
      ),
      `export type ${typeName} = {`,
    ];
    for (const method of service.methodsArray) {
      method.resolve();
      const kind = method.requestStream
        ? method.responseStream
          ? 'bidi_streaming'
          : 'client_streaming'
        : method.responseStream
          ? 'server_streaming'
          : 'unary';
      const marker = MARKERS[kind]!;
      this.#markers.add(marker);
      const input = this.#typeRef(method.resolvedRequestType!);
      const output = this.#typeRef(method.resolvedResponseType!);
      lines.push(...docComment(method.comment, undefined, '  '));
      lines.push(`  ${lowerFirst(method.name)}: ${marker}<${input}, ${output}>;`);
    }
    lines.push('};', '');
    this.#body.push(...lines);
  }

  #fieldType(field: protobuf.Field): string {
    if (field instanceof protobuf.MapField) {
      return `Record<string, ${this.#valueType(field.type, field.resolvedType)}>`;
    }
    const value = this.#valueType(field.type, field.resolvedType);
    if (field.repeated) return value.includes('|') ? `(${value})[]` : `${value}[]`;
    // A message field a decoded message lacks is null (protobufjs' prototype default).
    return field.resolvedType instanceof protobuf.Type ? `${value} | null` : value;
  }

  #valueType(type: string, resolved: protobuf.Type | protobuf.Enum | null): string {
    if (resolved) return this.#typeRef(resolved);
    const scalar = SCALARS[type] ?? 'unknown';
    if (scalar !== 'Int64') return scalar;
    this.#usesInt64 = true;
    return this.#int64Name;
  }

  /** The local name of a message or enum, importing it when another file declares it. */
  #typeRef(type: protobuf.Type | protobuf.Enum): string {
    const target = this.#declared.get(type.fullName);
    if (!target) return 'unknown';
    if (target.file === this.#file) return target.name;
    this.importedFiles.add(target.file);
    let names = this.#imports.get(target.file);
    if (!names) {
      names = new Map();
      this.#imports.set(target.file, names);
    }
    let local = names.get(target.name);
    if (!local) {
      local = target.name;
      const prefix = target.file.package.replace(/\./g, '_');
      if (this.#localNames.has(local)) local = `${prefix}_${local}`;
      while (this.#localNames.has(local)) local = `${local}_`;
      this.#localNames.add(local);
      names.set(target.name, local);
    }
    return local;
  }

  #nameOf(type: protobuf.Type | protobuf.Enum): string {
    return this.#declared.get(type.fullName)?.name ?? type.name;
  }

  #unique(name: string): string {
    let candidate = name;
    while (this.#localNames.has(candidate)) candidate = `${candidate}_`;
    this.#localNames.add(candidate);
    return candidate;
  }

  #importPath(target: ProtoFile): string {
    const from = path.posix.dirname(outputPath(this.#file));
    let rel = path.posix.relative(from, outputPath(target).replace(/\.ts$/, ''));
    if (!rel.startsWith('.')) rel = `./${rel}`;
    return `${rel}${this.#options.importExtension ?? '.ts'}`;
  }
}

/** A JSDoc block from a .proto comment (and/or a fallback line), safe to embed. */
function docComment(comment: string | null, fallback?: string, indent = ''): string[] {
  const text = [comment, comment ? undefined : fallback].filter(Boolean).join('\n');
  if (!text) return [];
  const lines = text.replace(/\*\//g, '*\\/').split('\n');
  if (lines.length === 1) return [`${indent}/** ${lines[0]} */`];
  return [`${indent}/**`, ...lines.map((l) => `${indent} *${l ? ` ${l}` : ''}`), `${indent} */`];
}
