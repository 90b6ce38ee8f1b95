import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ProtobufMessageType } from './codec.ts';
import {
  type Idempotency,
  lowerFirst,
  type MessageType,
  type MethodDescriptor,
  methodKind,
  type ServiceDescriptor,
} from './descriptors.ts';
import { httpRulesFromOptions } from './http-rules.ts';
import { BUNDLED_PROTO_DIR, PROTOBUFJS_PROTO_DIR } from './paths.ts';

export interface LoadOptions {
  /** Folders searched for imports, before the importing file's own folder. */
  includeDirs?: string[];
}

/** Every service and message of a set of .proto files, ready to serve and call. */
export class Contract {
  readonly root: protobuf.Root;
  readonly #services = new Map<string, ServiceDescriptor>();
  readonly #messages = new Map<string, MessageType>();

  constructor(root: protobuf.Root) {
    root.resolveAll();
    this.root = root;
    for (const service of allServices(root)) {
      this.#services.set(service.fullName.slice(1), this.#describe(service));
    }
  }

  get services(): ServiceDescriptor[] {
    return [...this.#services.values()];
  }

  /** A service by full name ("greet.Greeter"); throws, listing what exists, when unknown. */
  service(fullName: string): ServiceDescriptor {
    const service = this.#services.get(fullName.replace(/^\./, ''));
    if (!service) {
      const known = [...this.#services.keys()].join(', ') || 'none';
      throw new Error(`unknown service ${fullName} (the contract has: ${known})`);
    }
    return service;
  }

  /** A method by "/pkg.Service/Method", "pkg.Service/Method" or "pkg.Service.Method". */
  method(name: string): MethodDescriptor | undefined {
    const clean = name.replace(/^\//, '');
    const cut = clean.includes('/') ? clean.indexOf('/') : clean.lastIndexOf('.');
    return this.#services.get(clean.slice(0, cut))?.method(clean.slice(cut + 1));
  }

  message(fullName: string): MessageType {
    const key = fullName.replace(/^\./, '');
    let type = this.#messages.get(key);
    if (!type) {
      type = new ProtobufMessageType(this.root.lookupType(key));
      this.#messages.set(key, type);
    }
    return type;
  }

  #describe(service: protobuf.Service): ServiceDescriptor {
    const fullName = service.fullName.slice(1);
    const methods: MethodDescriptor[] = [];
    const byName = new Map<string, MethodDescriptor>();
    const descriptor: ServiceDescriptor = {
      name: service.name,
      fullName,
      methods,
      method: (name) => byName.get(name),
    };
    for (const m of service.methodsArray) {
      m.resolve();
      const requestStream = Boolean(m.requestStream);
      const responseStream = Boolean(m.responseStream);
      const path = `/${fullName}/${m.name}`;
      const method: MethodDescriptor = {
        name: m.name,
        localName: lowerFirst(m.name),
        fullName: `${fullName}.${m.name}`,
        path,
        service: descriptor,
        kind: methodKind(requestStream, responseStream),
        requestStream,
        responseStream,
        input: this.message(m.resolvedRequestType!.fullName),
        output: this.message(m.resolvedResponseType!.fullName),
        idempotency: idempotency(m.options?.idempotency_level),
        httpRules: httpRulesFromOptions(m.parsedOptions as Record<string, unknown>[] | undefined, path),
      };
      methods.push(method);
      byName.set(method.name, method);
      byName.set(method.localName, method);
    }
    return descriptor;
  }
}

function idempotency(level: unknown): Idempotency {
  if (level === 'IDEMPOTENT' || level === 2) return 'idempotent';
  if (level === 'NO_SIDE_EFFECTS' || level === 1) return 'no_side_effects';
  return 'unknown';
}

function allServices(ns: protobuf.NamespaceBase): protobuf.Service[] {
  const out: protobuf.Service[] = [];
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Service) out.push(nested);
    else if (nested instanceof protobuf.Namespace) out.push(...allServices(nested));
  }
  return out;
}

/** A protobufjs Root whose imports resolve against the include dirs, then the bundled protos. */
export function createRoot(options: LoadOptions = {}): protobuf.Root {
  const root = new protobuf.Root();
  const searchDirs = [...(options.includeDirs ?? []), BUNDLED_PROTO_DIR, PROTOBUFJS_PROTO_DIR];
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    const beside = origin ? path.resolve(path.dirname(origin), target) : path.resolve(target);
    if (existsSync(beside)) return beside;
    for (const dir of searchDirs) {
      const candidate = path.resolve(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // protobufjs serves google/protobuf/*.proto from memory (protobuf.common) when a path is absent.
    return target;
  };
  return root;
}

/** Loads .proto files at run time: no build step is needed to serve or call them. */
export async function loadContract(files: string | string[], options: LoadOptions = {}): Promise<Contract> {
  const root = createRoot(options);
  const list = (Array.isArray(files) ? files : [files]).map((f) => path.resolve(f));
  await root.load(list, { keepCase: false });
  return new Contract(root);
}

export function loadContractSync(files: string | string[], options: LoadOptions = {}): Contract {
  const root = createRoot(options);
  const list = (Array.isArray(files) ? files : [files]).map((f) => path.resolve(f));
  root.loadSync(list, { keepCase: false });
  return new Contract(root);
}
