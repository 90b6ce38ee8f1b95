/**
 * A FileDescriptorProto (as protobufjs decodes it from reflection) written back as .proto
 * text, for people to read on the dashboard: messages, fields with labels, maps and oneofs,
 * enums, services and their streaming. Options other than `optional` and map entries are
 * left out. Decoded messages carry defaults on their prototypes, so presence is checked with
 * Object.hasOwn, never by reading a field.
 */

type Node = Record<string, unknown>;

/** Where a name is written: the file's package (".pkg.") and the enclosing messages (".pkg.Outer."). */
interface Scope {
  readonly pkg: string;
  readonly path: string;
}

/** REST bindings of a method (`google.api.http`), by the method's full name "pkg.Service.Method". */
export type HttpBindings = ReadonlyMap<string, readonly { method: string; path: string; body: string }[]>;

const SCALARS: Record<number, string> = {
  1: 'double',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  6: 'fixed64',
  7: 'fixed32',
  8: 'bool',
  9: 'string',
  12: 'bytes',
  13: 'uint32',
  15: 'sfixed32',
  16: 'sfixed64',
  17: 'sint32',
  18: 'sint64',
};
const LABEL_REPEATED = 3;
const LABEL_REQUIRED = 2;

export function renderProtoFile(file: Node, http: HttpBindings = new Map()): string {
  const syntax =
    own(file, 'syntax') && typeof file.syntax === 'string' && file.syntax ? file.syntax : 'proto2';
  const lines: string[] = [`syntax = "${syntax}";`, ''];
  const pkg = string(file, 'package');
  if (pkg) lines.push(`package ${pkg};`, '');
  const deps = list(file, 'dependency').filter((d): d is string => typeof d === 'string');
  for (const dep of deps) lines.push(`import "${dep}";`);
  if (deps.length > 0) lines.push('');
  const scope: Scope = { pkg: pkg ? `.${pkg}.` : '.', path: pkg ? `.${pkg}.` : '.' };
  const blocks: string[][] = [];
  for (const service of list(file, 'service')) blocks.push(renderService(service as Node, scope, http));
  for (const message of list(file, 'messageType')) blocks.push(renderMessage(message as Node, scope, syntax));
  for (const e of list(file, 'enumType')) blocks.push(renderEnum(e as Node));
  blocks.push(...renderExtensions(list(file, 'extension') as Node[], scope));
  return (
    [
      ...lines,
      ...blocks
        .map((b) => b.join('\n'))
        .join('\n\n')
        .split('\n'),
    ]
      .join('\n')
      .trimEnd() + '\n'
  );
}

function renderService(service: Node, scope: Scope, http: HttpBindings): string[] {
  const name = string(service, 'name');
  const out = [`service ${name} {`];
  for (const m of list(service, 'method') as Node[]) {
    const input = `${m.clientStreaming === true ? 'stream ' : ''}${typeName(string(m, 'inputType'), scope)}`;
    const output = `${m.serverStreaming === true ? 'stream ' : ''}${typeName(string(m, 'outputType'), scope)}`;
    const rpc = `  rpc ${string(m, 'name')} (${input}) returns (${output})`;
    const bindings = http.get(`${scope.path.slice(1)}${name}.${string(m, 'name')}`) ?? [];
    if (bindings.length === 0) {
      out.push(`${rpc};`);
      continue;
    }
    const [first, ...more] = bindings.map((b) => {
      const body = b.body ? ` body: ${JSON.stringify(b.body)}` : '';
      const verb = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'].includes(b.method)
        ? `${b.method.toLowerCase()}: ${JSON.stringify(b.path)}`
        : `custom { kind: ${JSON.stringify(b.method)} path: ${JSON.stringify(b.path)} }`;
      return `${verb}${body}`;
    });
    const extra = more.map((b) => ` additional_bindings { ${b} }`).join('');
    out.push(`${rpc} {`, `    option (google.api.http) = { ${first}${extra} };`, '  }');
  }
  out.push('}');
  return out;
}

function renderMessage(message: Node, scope: Scope, syntax: string): string[] {
  const name = string(message, 'name');
  const inner: Scope = { pkg: scope.pkg, path: `${scope.path}${name}.` };
  const nested = list(message, 'nestedType') as Node[];
  const mapEntries = new Map<string, Node>();
  for (const n of nested) {
    const options = own(n, 'options') ? (n.options as Node | null) : null;
    if (options && own(options, 'mapEntry') && options.mapEntry === true) {
      mapEntries.set(`${inner.path}${string(n, 'name')}`, n);
    }
  }
  const out = [`message ${name} {`];
  const oneofs = (list(message, 'oneofDecl') as Node[]).map((o) => ({
    name: string(o, 'name'),
    fields: [] as string[],
  }));
  for (const field of list(message, 'field') as Node[]) {
    const text = renderField(field, inner, syntax, mapEntries);
    const synthetic = own(field, 'proto3Optional') && field.proto3Optional === true;
    const index = own(field, 'oneofIndex') && !synthetic ? Number(field.oneofIndex) : -1;
    const oneof = oneofs[index];
    if (oneof) oneof.fields.push(text.replace(/^optional /, ''));
    else out.push(`  ${text}`);
  }
  for (const oneof of oneofs) {
    if (oneof.fields.length === 0) continue;
    out.push(`  oneof ${oneof.name} {`, ...oneof.fields.map((f) => `    ${f}`), '  }');
  }
  for (const n of nested) {
    if (mapEntries.has(`${inner.path}${string(n, 'name')}`)) continue;
    out.push(...renderMessage(n, inner, syntax).map((l) => `  ${l}`));
  }
  for (const e of list(message, 'enumType')) out.push(...renderEnum(e as Node).map((l) => `  ${l}`));
  out.push('}');
  return out;
}

function renderField(field: Node, scope: Scope, syntax: string, mapEntries: Map<string, Node>): string {
  const name = string(field, 'name');
  const number = Number(field.number);
  const entry = own(field, 'typeName') ? mapEntries.get(string(field, 'typeName')) : undefined;
  if (entry) {
    const [key, value] = list(entry, 'field') as Node[];
    return `map<${fieldType(key ?? {}, scope)}, ${fieldType(value ?? {}, scope)}> ${name} = ${number};`;
  }
  const label = own(field, 'label') ? Number(field.label) : 1;
  let prefix = '';
  if (label === LABEL_REPEATED) prefix = 'repeated ';
  else if (label === LABEL_REQUIRED) prefix = 'required ';
  else if (syntax === 'proto2' || (own(field, 'proto3Optional') && field.proto3Optional === true)) {
    prefix = 'optional ';
  }
  return `${prefix}${fieldType(field, scope)} ${name} = ${number};`;
}

function fieldType(field: Node, scope: Scope): string {
  if (own(field, 'typeName') && string(field, 'typeName')) return typeName(string(field, 'typeName'), scope);
  return SCALARS[Number(field.type)] ?? 'bytes';
}

/** `extend` blocks, one per extended message. */
function renderExtensions(extensions: readonly Node[], scope: Scope): string[][] {
  const byExtendee = new Map<string, string[]>();
  for (const field of extensions) {
    const extendee = typeName(string(field, 'extendee'), scope);
    const fields = byExtendee.get(extendee) ?? [];
    fields.push(`  ${renderField(field, scope, 'proto3', new Map())}`);
    byExtendee.set(extendee, fields);
  }
  return [...byExtendee].map(([extendee, fields]) => [`extend ${extendee} {`, ...fields, '}']);
}

function renderEnum(e: Node): string[] {
  const out = [`enum ${string(e, 'name')} {`];
  for (const v of list(e, 'value') as Node[]) out.push(`  ${string(v, 'name')} = ${Number(v.number ?? 0)};`);
  out.push('}');
  return out;
}

/**
 * ".pkg.Outer.Msg" written as short as the enclosing scopes allow ("Msg" inside pkg.Outer),
 * but never shortened past the file's package: other packages' types keep their full name.
 */
function typeName(full: string, scope: Scope): string {
  for (let s = scope.path; s.length >= scope.pkg.length && s.length > 1; s = s.replace(/[^.]+\.$/, '')) {
    if (full.startsWith(s) && full.length > s.length) return full.slice(s.length);
  }
  return full.replace(/^\./, '');
}

function own(node: Node, key: string): boolean {
  return Object.hasOwn(node, key);
}

function string(node: Node, key: string): string {
  const value = own(node, key) ? node[key] : undefined;
  return typeof value === 'string' ? value : '';
}

function list(node: Node, key: string): unknown[] {
  const value = own(node, key) ? node[key] : undefined;
  return Array.isArray(value) ? value : [];
}
