import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { Contract } from '../contract/contract.ts';
import { StatusError } from '../contract/errors.ts';
import type { MetadataInit } from '../contract/metadata.ts';
import { Status } from '../contract/status.ts';
import { createClient } from '../core/client.ts';
import type { ClientTransport } from '../core/transport.ts';
import type { Message } from '../core/types.ts';
import { REFLECTION_SERVICE_NAMES, reflectionContract, type ServerReflectionMethods } from './reflection.ts';

export interface ReflectionClientOptions {
  /** Deadline of each reflection exchange; 10 s unless set. */
  timeoutMs?: number;
  metadata?: MetadataInit;
}

/** google.api.http's field number in google.protobuf.MethodOptions. */
const HTTP_RULE_FIELD = 72295728;

type DecodedFile = Record<string, unknown> & { name?: string; dependency?: string[] };

/**
 * Asks a server what it serves through gRPC server reflection, over any ClientTransport
 * (reflection is an ordinary bidi-streaming method), and builds a Contract from the answer.
 * Tries grpc.reflection.v1 first, then v1alpha for older servers.
 */
export class ReflectionClient {
  readonly #transport: ClientTransport;
  readonly #options: ReflectionClientOptions;
  #version: string | undefined;

  constructor(transport: ClientTransport, options: ReflectionClientOptions = {}) {
    this.#transport = transport;
    this.#options = options;
  }

  /** The full names of the services the server lists. */
  async listServices(): Promise<string[]> {
    const [response] = await this.#exchange([{ listServices: '*' }]);
    const list = (response?.listServicesResponse ?? {}) as { service?: { name?: string }[] };
    return (list.service ?? []).map((s) => String(s.name));
  }

  /**
   * The files declaring `symbols` ("pkg.Service", "pkg.Message") and all their dependencies,
   * as decoded FileDescriptorProtos; NOT_FOUND when the server does not know a symbol.
   */
  async fileDescriptors(symbols: readonly string[]): Promise<DecodedFile[]> {
    const files = new Map<string, DecodedFile>();
    const asked = new Set<string>();
    let requests: Message[] = symbols.map((s) => ({ fileContainingSymbol: s }));
    // Servers send a file's dependencies with it; a round more asks for any they left out.
    while (requests.length > 0) {
      for (const response of await this.#exchange(requests)) {
        const list = (response.fileDescriptorResponse as { fileDescriptorProto?: Uint8Array[] } | undefined)
          ?.fileDescriptorProto;
        for (const bytes of list ?? []) {
          const file = decodeFile(bytes);
          if (file.name) files.set(file.name, file);
        }
      }
      requests = [];
      for (const file of files.values()) {
        for (const dep of file.dependency ?? []) {
          if (!files.has(dep) && !asked.has(dep)) {
            asked.add(dep);
            requests.push({ fileByFilename: dep });
          }
        }
      }
    }
    return [...files.values()];
  }

  /** A Contract of the files declaring `symbols`, ready for createClient. */
  async contract(symbols: readonly string[]): Promise<Contract> {
    return contractFromDescriptors(await this.fileDescriptors(symbols));
  }

  /**
   * One stream: all `requests`, then the end of the request stream, then every response.
   * Sending everything first works on half-duplex transports (HTTP/1.1) as well.
   * Error responses become StatusErrors.
   */
  async #exchange(requests: Message[]): Promise<Message[]> {
    const versions = this.#version ? [this.#version] : [...REFLECTION_SERVICE_NAMES];
    for (const [i, version] of versions.entries()) {
      try {
        const responses = await this.#exchangeWith(version, requests);
        this.#version = version;
        return responses;
      } catch (err) {
        const older = i + 1 < versions.length;
        if (!(older && err instanceof StatusError && err.code === Status.UNIMPLEMENTED)) throw err;
      }
    }
    throw new StatusError(Status.UNIMPLEMENTED, 'the server does not serve reflection');
  }

  async #exchangeWith(serviceName: string, requests: Message[]): Promise<Message[]> {
    const service = reflectionContract().service(serviceName);
    const client = createClient<ServerReflectionMethods>(service, this.#transport, {
      defaultTimeoutMs: this.#options.timeoutMs ?? 10_000,
      metadata: this.#options.metadata,
    });
    const responses: Message[] = [];
    for await (const response of client.serverReflectionInfo(requests, { parent: null })) {
      const error = response.errorResponse as { errorCode?: number; errorMessage?: string } | undefined;
      if (error) {
        const code = (error.errorCode ?? Status.UNKNOWN) as Status;
        throw new StatusError(code, error.errorMessage || 'reflection request failed');
      }
      responses.push(response);
    }
    return responses;
  }
}

/** Builds a Contract from decoded FileDescriptorProtos, google.api.http rules included. */
export function contractFromDescriptors(files: readonly DecodedFile[]): Contract {
  const root = protobuf.Root.fromDescriptor({ file: files } as never);
  restoreHttpRules(root, files);
  return new Contract(root);
}

/** Decodes one FileDescriptorProto, keeping unknown fields (google.api.http lives there). */
function decodeFile(bytes: Uint8Array): DecodedFile {
  const reader = protobuf.Reader.create(bytes);
  reader.discardUnknown = false;
  try {
    return descriptor.FileDescriptorProto.decode(reader) as unknown as DecodedFile;
  } catch (err) {
    throw new StatusError(
      Status.INTERNAL,
      `malformed file descriptor from the server: ${(err as Error).message}`,
    );
  }
}

interface DecodedMethod {
  name?: string;
  options?: { $unknowns?: Uint8Array[] };
}

/**
 * Root.fromDescriptor drops MethodOptions' unknown fields: put each method's google.api.http
 * back where Contract reads it (parsedOptions), so the HTTP transport finds its routes.
 */
function restoreHttpRules(root: protobuf.Root, files: readonly DecodedFile[]): void {
  const ruleType = root.lookup('google.api.HttpRule');
  if (!(ruleType instanceof protobuf.Type)) return;
  for (const file of files) {
    const pkg = typeof file.package === 'string' && file.package ? `${file.package}.` : '';
    for (const s of (file.service ?? []) as { name?: string; method?: DecodedMethod[] }[]) {
      for (const m of s.method ?? []) {
        const rule = httpRuleOf(m.options?.$unknowns ?? [], ruleType);
        const method = root.lookup(`${pkg}${s.name}.${m.name}`);
        if (rule && method instanceof protobuf.Method) {
          method.parsedOptions = [...(method.parsedOptions ?? []), { '(google.api.http)': rule }];
        }
      }
    }
  }
}

function httpRuleOf(
  unknowns: readonly Uint8Array[],
  ruleType: protobuf.Type,
): Record<string, unknown> | undefined {
  for (const chunk of unknowns) {
    const reader = protobuf.Reader.create(chunk);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag >>> 3 === HTTP_RULE_FIELD && (tag & 7) === 2) {
        return ruleType.toObject(ruleType.decode(reader.bytes()), { arrays: false });
      }
      reader.skipType(tag & 7);
    }
  }
  return undefined;
}
