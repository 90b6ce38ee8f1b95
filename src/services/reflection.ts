import path from 'node:path';
import type protobuf from 'protobufjs';
import { ProtobufMessageType } from '../contract/codec.ts';
import { type Contract, loadContractSync } from '../contract/contract.ts';
import { StatusError } from '../contract/errors.ts';
import { BUNDLED_PROTO_DIR } from '../contract/paths.ts';
import { Status } from '../contract/status.ts';
import type { ServiceHost } from '../core/host.ts';
import type { BidiStreamingMethod, Message } from '../core/types.ts';
import { fileDescriptorBytes } from './descriptor-proto.ts';
import { type ProtoFile, ProtoFileSet } from './proto-files.ts';

export const REFLECTION_SERVICE_NAMES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
] as const;

let contract: Contract | undefined;

/** Both bundled reflection protos (v1 and v1alpha: the same messages), loaded once. */
export function reflectionContract(): Contract {
  contract ??= loadContractSync(
    ['v1', 'v1alpha'].map((v) => path.join(BUNDLED_PROTO_DIR, `grpc/reflection/${v}/reflection.proto`)),
  );
  return contract;
}

/** grpc.reflection.*.ServerReflection's one method, for typing clients and the implementation. */
export type ServerReflectionMethods = { serverReflectionInfo: BidiStreamingMethod<Message, Message> };

/** The kinds of request in ServerReflectionRequest's `message_request` oneof. */
const REQUEST_KINDS = [
  'fileByFilename',
  'fileContainingSymbol',
  'fileContainingExtension',
  'allExtensionNumbersOfType',
  'listServices',
] as const;
type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) for the services of a ServiceHost,
 * these two and health included once added: what grpcurl, Postman and `switchboard call`
 * without --proto use to learn a server's contract. Descriptors are built from the contracts
 * the services were loaded from (see descriptor-proto.ts for what they keep).
 */
export class ReflectionService {
  #host: ServiceHost | undefined;
  #files: { services: number; set: ProtoFileSet } | undefined;
  readonly #bytes = new WeakMap<ProtoFile, Uint8Array>();

  /** Serves both reflection versions on `host`, describing whatever `host` serves at call time. */
  addTo(host: ServiceHost): this {
    this.#host = host;
    const contract = reflectionContract();
    for (const name of REFLECTION_SERVICE_NAMES) {
      host.add<ServerReflectionMethods>(contract.service(name), {
        serverReflectionInfo: (requests: AsyncIterable<Message>) => this.#session(requests),
      });
    }
    return this;
  }

  /** The files describing the host's services; rebuilt when services were added since. */
  files(): ProtoFileSet {
    const services = this.#host?.services ?? [];
    if (this.#files?.services !== services.length) {
      const roots = new Set<protobuf.Root>();
      for (const service of services) {
        for (const method of service.methods) {
          if (method.input instanceof ProtobufMessageType) roots.add(method.input.reflection.root);
        }
      }
      this.#files = { services: services.length, set: new ProtoFileSet([...roots]) };
    }
    return this.#files.set;
  }

  /** One reflection stream: each request gets one response; files already sent are not resent. */
  async *#session(requests: AsyncIterable<Message>): AsyncIterable<Message> {
    const sent = new Set<string>();
    for await (const request of requests) {
      const response: Message = { validHost: request.host ?? '', originalRequest: request };
      Object.assign(response, this.#answer(request, sent));
      yield response;
    }
  }

  #answer(request: Message, sent: Set<string>): Message {
    const kind = requestKind(request);
    const files = this.files();
    switch (kind) {
      case 'listServices':
        return {
          listServicesResponse: { service: (this.#host?.services ?? []).map((s) => ({ name: s.fullName })) },
        };
      case 'fileByFilename': {
        const name = String(request.fileByFilename);
        return this.#filesResponse(files, files.file(name), sent) ?? notFound(`file not found: ${name}`);
      }
      case 'fileContainingSymbol': {
        const symbol = String(request.fileContainingSymbol);
        return (
          this.#filesResponse(files, files.fileContaining(symbol), sent) ??
          notFound(`symbol not found: ${symbol}`)
        );
      }
      case 'fileContainingExtension': {
        const ext = (request.fileContainingExtension ?? {}) as Message;
        const type = String(ext.containingType ?? '');
        const number = Number(ext.extensionNumber ?? 0);
        return (
          this.#filesResponse(files, files.fileContainingExtension(type, number), sent) ??
          notFound(`extension ${number} of ${type} not found`)
        );
      }
      case 'allExtensionNumbersOfType': {
        const type = String(request.allExtensionNumbersOfType).replace(/^\./, '');
        if (!files.fileContaining(type)) return notFound(`type not found: ${type}`);
        return {
          allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: files.extensionNumbers(type) },
        };
      }
      default:
        // As grpc-go does: a request with nothing in it ends the stream.
        throw new StatusError(Status.INVALID_ARGUMENT, 'the reflection request names no message_request');
    }
  }

  /** The file and its dependencies not yet sent on this stream (the file itself always). */
  #filesResponse(files: ProtoFileSet, file: ProtoFile | undefined, sent: Set<string>): Message | undefined {
    if (!file) return undefined;
    const list = files.withDependencies(file.name).filter((f) => f === file || !sent.has(f.name));
    for (const f of list) sent.add(f.name);
    return { fileDescriptorResponse: { fileDescriptorProto: list.map((f) => this.#descriptor(f)) } };
  }

  #descriptor(file: ProtoFile): Uint8Array {
    let bytes = this.#bytes.get(file);
    if (!bytes) {
      bytes = fileDescriptorBytes(file);
      this.#bytes.set(file, bytes);
    }
    return bytes;
  }
}

/** Which oneof member is set: protobufjs' virtual oneof property, or the one field present. */
function requestKind(request: Message): RequestKind | undefined {
  const virtual = request.messageRequest;
  if (typeof virtual === 'string' && (REQUEST_KINDS as readonly string[]).includes(virtual)) {
    return virtual as RequestKind;
  }
  return REQUEST_KINDS.find(
    (k) => Object.hasOwn(request, k) && request[k] !== null && request[k] !== undefined,
  );
}

function notFound(message: string): Message {
  return { errorResponse: { errorCode: Status.NOT_FOUND, errorMessage: message } };
}
