import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { BUNDLED_PROTO_DIR, PROTOBUFJS_PROTO_DIR } from '../contract/paths.ts';

/** What a .proto file declares at its top level. */
export type FileMember = protobuf.Type | protobuf.Enum | protobuf.Service | protobuf.Field;

/** One .proto file as reflection and code generation see it. */
export interface ProtoFile {
  /** As an `import` names it: "google/protobuf/timestamp.proto"; an entry file by its base name. */
  readonly name: string;
  /** "sb.test", or "" for none. */
  readonly package: string;
  /** "proto2", "proto3", or an edition such as "2023". */
  readonly syntax: string;
  /** Names of the files it imports (and of any file it takes a type from). */
  readonly dependencies: readonly string[];
  readonly members: readonly FileMember[];
  /** Where protobufjs loaded it from (an absolute path), when it came from disk. */
  readonly source: string | undefined;
}

/** The well-known files protobufjs serves from memory, whose objects carry no file name. */
const COMMON_FILES = ['any', 'duration', 'timestamp', 'empty', 'struct', 'wrappers', 'field_mask'].map(
  (n) => `google/protobuf/${n}.proto`,
);

/**
 * The .proto files behind one or more protobufjs roots, rebuilt from what the roots and the
 * files on disk still say: protobufjs keeps which file declared each object, not the file
 * boundaries, names or imports, so this recovers them (see docs/cli.md, "reflection").
 */
export class ProtoFileSet {
  readonly #files = new Map<string, ProtoFile>();
  readonly #symbols = new Map<string, ProtoFile>();
  readonly #extensions = new Map<string, ProtoFile>();
  readonly #extensionNumbers = new Map<string, number[]>();

  constructor(roots: readonly protobuf.Root[]) {
    for (const root of roots) {
      for (const file of filesOf(root)) {
        if (this.#files.has(file.name)) continue; // the same well-known file in two roots
        this.#files.set(file.name, file);
        this.#index(file);
      }
    }
  }

  get files(): ProtoFile[] {
    return [...this.#files.values()];
  }

  file(name: string): ProtoFile | undefined {
    return this.#files.get(name);
  }

  /** The file declaring a message, enum, service, method or extension ("pkg.Service.Method"). */
  fileContaining(symbol: string): ProtoFile | undefined {
    return this.#symbols.get(symbol.replace(/^\./, ''));
  }

  fileContainingExtension(extendee: string, number: number): ProtoFile | undefined {
    return this.#extensions.get(`${extendee.replace(/^\./, '')}#${number}`);
  }

  extensionNumbers(extendee: string): number[] {
    return this.#extensionNumbers.get(extendee.replace(/^\./, '')) ?? [];
  }

  /** `name` and every file it depends on, transitively, the file itself first. */
  withDependencies(name: string): ProtoFile[] {
    const out: ProtoFile[] = [];
    const seen = new Set<string>();
    const visit = (n: string) => {
      const file = this.#files.get(n);
      if (!file || seen.has(n)) return;
      seen.add(n);
      out.push(file);
      for (const dep of file.dependencies) visit(dep);
    };
    visit(name);
    return out;
  }

  #index(file: ProtoFile): void {
    const add = (fullName: string) => {
      const key = fullName.replace(/^\./, '');
      if (!this.#symbols.has(key)) this.#symbols.set(key, file);
    };
    const addExtension = (field: protobuf.Field) => {
      add(field.fullName);
      const extendee = extendeeOf(field);
      if (!extendee) return;
      this.#extensions.set(`${extendee}#${field.id}`, file);
      const numbers = this.#extensionNumbers.get(extendee) ?? [];
      numbers.push(field.id);
      this.#extensionNumbers.set(extendee, numbers);
    };
    const visitType = (type: protobuf.Type | protobuf.Enum) => {
      add(type.fullName);
      if (!(type instanceof protobuf.Type)) return;
      for (const nested of type.nestedArray) {
        if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) visitType(nested);
        else if (nested instanceof protobuf.Field) addExtension(nested);
      }
    };
    for (const member of file.members) {
      if (member instanceof protobuf.Service) {
        add(member.fullName);
        for (const method of member.methodsArray) add(method.fullName);
      } else if (member instanceof protobuf.Field) {
        addExtension(member);
      } else {
        visitType(member);
      }
    }
  }
}

/** The full name (no leading dot) of the message an extension field extends. */
export function extendeeOf(field: protobuf.Field): string | undefined {
  const target = field.extensionField?.parent ?? (field.extend ? field.parent?.lookup(field.extend) : null);
  return target ? target.fullName.replace(/^\./, '') : field.extend?.replace(/^\./, '');
}

interface FileDraft {
  key: string;
  package: string;
  members: FileMember[];
  imports: string[];
}

/** Groups a root's objects by the file that declared them, named and with dependencies. */
function filesOf(root: protobuf.Root): ProtoFile[] {
  root.resolveAll();
  const commonFileOf = commonFileIndex();
  const drafts = new Map<string, FileDraft>();
  const draft = (key: string, pkg: string): FileDraft => {
    let d = drafts.get(key);
    if (!d) {
      d = { key, package: pkg, members: [], imports: [] };
      drafts.set(key, d);
    }
    return d;
  };
  // Every loaded file, even one that only imports others, so that dependencies resolve.
  for (const file of root.files) draft(file, '');
  const keyOf = (obj: protobuf.ReflectionObject, pkg: string) =>
    obj.filename ?? commonFileOf.get(obj.fullName) ?? `${pkg.replace(/\./g, '_') || 'root'}.proto`;
  const walk = (ns: protobuf.NamespaceBase, pkg: string) => {
    for (const nested of ns.nestedArray) {
      if (
        nested instanceof protobuf.Type ||
        nested instanceof protobuf.Enum ||
        nested instanceof protobuf.Service ||
        (nested instanceof protobuf.Field && !nested.declaringField)
      ) {
        const d = draft(keyOf(nested, pkg), pkg);
        d.package = pkg;
        d.members.push(nested as FileMember);
      } else if (nested instanceof protobuf.Namespace) {
        walk(nested, nested.fullName.slice(1));
      }
    }
  };
  walk(root, '');

  const names = nameFiles(root, [...drafts.keys()], drafts);
  const fileOfType = new Map<string, string>();
  for (const d of drafts.values()) {
    for (const member of d.members) for (const full of typeNames(member)) fileOfType.set(full, d.key);
  }
  const files: ProtoFile[] = [];
  for (const d of drafts.values()) {
    const name = names.get(d.key) ?? d.key;
    const deps = new Set<string>();
    for (const imported of d.imports) {
      const depName = names.get(imported);
      if (depName) deps.add(depName);
    }
    for (const member of d.members) {
      for (const ref of referencedTypes(member)) {
        const key = fileOfType.get(ref);
        if (key && key !== d.key) deps.add(names.get(key) ?? key);
      }
    }
    deps.delete(name);
    files.push({
      name,
      package: d.package,
      syntax: editionOf(d.members[0]),
      dependencies: [...deps],
      members: d.members,
      source: path.isAbsolute(d.key) ? d.key : undefined,
    });
  }
  return files;
}

/**
 * Names each file the way the files importing it spell it; files nobody imports are named
 * relative to the bundled proto folders, or by their base name (as `protoc -I <their folder>`).
 */
function nameFiles(root: protobuf.Root, keys: string[], drafts: Map<string, FileDraft>): Map<string, string> {
  const names = new Map<string, string>();
  for (const key of keys) {
    if (!path.isAbsolute(key) || !existsSync(key)) continue;
    let parsed: protobuf.IParserResult;
    try {
      parsed = protobuf.parse(readFileSync(key, 'utf8'), new protobuf.Root(), { keepCase: true });
    } catch {
      continue; // protobufjs parsed it once already; a file changed on disk only loses its names
    }
    for (const imported of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const resolved = bundledName(imported) ?? root.resolvePath(key, imported);
      if (!resolved) continue;
      drafts.get(key)?.imports.push(resolved);
      if (!names.has(resolved)) names.set(resolved, imported);
    }
  }
  const taken = new Set(names.values());
  for (const key of keys) {
    if (names.has(key)) continue;
    if (!path.isAbsolute(key)) {
      names.set(key, key);
      continue;
    }
    const name = bundledRelative(key) ?? uniqueBaseName(key, taken);
    taken.add(name);
    names.set(key, name);
  }
  return names;
}

function bundledName(imported: string): string | undefined {
  const at = imported.lastIndexOf('google/protobuf/');
  const name = at >= 0 ? imported.slice(at) : imported;
  return protobuf.common.get(name) ? name : undefined;
}

function bundledRelative(file: string): string | undefined {
  for (const dir of [BUNDLED_PROTO_DIR, PROTOBUFJS_PROTO_DIR]) {
    const rel = path.relative(dir, file);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  }
  return undefined;
}

/** "echo.proto", or "fixtures/echo.proto" when another entry file is already "echo.proto". */
function uniqueBaseName(file: string, taken: Set<string>): string {
  const parts = file.split(path.sep).filter(Boolean);
  for (let n = 1; n <= parts.length; n++) {
    const candidate = parts.slice(-n).join('/');
    if (!taken.has(candidate)) return candidate;
  }
  return file;
}

/** Full names of the well-known types protobufjs serves from memory, to the file they belong to. */
function commonFileIndex(): Map<string, string> {
  const index = new Map<string, string>();
  interface JsonNamespace {
    nested?: Record<string, JsonNamespace>;
  }
  const visit = (json: JsonNamespace, prefix: string, file: string) => {
    for (const [name, child] of Object.entries(json.nested ?? {})) {
      const full = `${prefix}.${name}`;
      index.set(full, file);
      visit(child, full, file);
    }
  };
  for (const file of COMMON_FILES) {
    const json = protobuf.common.get(file) as JsonNamespace | null;
    if (json) visit(json, '', file);
  }
  return index;
}

/** Full names (with leading dot) of the types a member declares, nested ones included. */
function typeNames(member: FileMember): string[] {
  if (member instanceof protobuf.Service || member instanceof protobuf.Field) return [member.fullName];
  const out = [member.fullName];
  if (member instanceof protobuf.Type) {
    for (const nested of member.nestedArray) {
      if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) out.push(...typeNames(nested));
    }
  }
  return out;
}

/** Full names of the messages and enums a member refers to (fields, methods, extendees). */
function referencedTypes(member: FileMember | protobuf.ReflectionObject): string[] {
  const out: string[] = [];
  const field = (f: protobuf.Field) => {
    f.resolve();
    if (f.resolvedType) out.push(f.resolvedType.fullName);
    const extendee = f.declaringField ? undefined : extendeeOf(f);
    if (f.extend && extendee) out.push(`.${extendee}`);
  };
  if (member instanceof protobuf.Service) {
    for (const m of member.methodsArray) {
      m.resolve();
      if (m.resolvedRequestType) out.push(m.resolvedRequestType.fullName);
      if (m.resolvedResponseType) out.push(m.resolvedResponseType.fullName);
    }
  } else if (member instanceof protobuf.Field) {
    field(member);
  } else if (member instanceof protobuf.Type) {
    for (const f of member.fieldsArray) if (!f.declaringField) field(f);
    for (const nested of member.nestedArray) {
      if (nested instanceof protobuf.Field) field(nested);
      else if (nested instanceof protobuf.Type) out.push(...referencedTypes(nested));
    }
  }
  return out;
}

/** The syntax or edition an object was declared with ("proto3" for well-known JSON types). */
export function editionOf(obj: protobuf.ReflectionObject | undefined): string {
  const edition = (obj as { _edition?: string } | undefined)?._edition;
  return edition ?? 'proto3';
}
