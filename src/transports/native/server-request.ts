/** Decoding and checking a REQUEST frame on the server, apart from the connection's own state. */
import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import type { HostedMethod } from '../../core/host.ts';
import { RequestFlag } from './frame.ts';
import type { Settings } from './frame-writer.ts';
import { readMetadataBlock } from './metadata-block.ts';
import type { MethodEntry, MethodTable } from './method-table.ts';
import { PayloadReader } from './payload-reader.ts';

/** A REQUEST's method and timeout; the rest of the payload is still in `reader`. */
export interface RequestHead {
  readonly reader: PayloadReader;
  readonly flags: number;
  readonly entry: MethodEntry;
  readonly timeoutMs: number;
}

/** A call to start: its handler, request metadata and (unary, server streaming) request message. */
export interface AcceptedRequest {
  readonly hosted: HostedMethod;
  readonly metadata: Metadata;
  readonly input: unknown;
  /** Size of the request message in the REQUEST frame; 0 when the method streams requests. */
  readonly messageBytes: number;
}

/** A call that will not run: the status it is answered with. */
export interface RefusedRequest {
  readonly refused: { readonly code: Status; readonly message: string };
}

/**
 * `[u16 method id][u16 length + path if METHOD_PATH][u32 timeout ms]`. Throws ProtocolError on a
 * malformed payload or a method id never bound: these close the connection.
 */
export function readRequestHead(
  methods: MethodTable,
  flags: number,
  buf: Buffer,
  start: number,
  end: number,
): RequestHead {
  const reader = new PayloadReader(buf, 'REQUEST', start, end);
  const methodId = reader.u16();
  const path = flags & RequestFlag.METHOD_PATH ? reader.utf8(reader.u16()) : undefined;
  const timeoutMs = reader.u32();
  return { reader, flags, entry: methods.resolve(methodId, path), timeoutMs };
}

/**
 * `[metadata block][message]`: checks the metadata and message against `settings` and decodes
 * the message. What fails here fails this call only.
 */
export function readRequestBody(head: RequestHead, settings: Settings): AcceptedRequest | RefusedRequest {
  const reader = head.reader;
  const metadataStart = reader.pos;
  let metadata: Metadata | undefined;
  try {
    metadata = readMetadataBlock(reader);
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    return refuse(err.code, err.message);
  }
  const metadataBytes = reader.pos - metadataStart;
  if (metadataBytes > settings.maxMetadataBytes) {
    return refuse(
      Status.RESOURCE_EXHAUSTED,
      `request metadata of ${metadataBytes} bytes is over the limit of ${settings.maxMetadataBytes}`,
    );
  }
  const hosted = head.entry.hosted;
  if (!hosted) return refuse(Status.UNIMPLEMENTED, `unknown method ${head.entry.path}`);
  const method = hosted.descriptor;
  const hasMessage = (head.flags & RequestFlag.HAS_MESSAGE) !== 0;
  if (method.requestStream) {
    if (hasMessage) {
      return refuse(Status.INTERNAL, `${method.fullName} streams its requests: send them as MESSAGE frames`);
    }
    return { hosted, metadata: metadata ?? new Metadata(), input: undefined, messageBytes: 0 };
  }
  if (!hasMessage) {
    return refuse(Status.INTERNAL, `${method.fullName} takes one request message and the REQUEST has none`);
  }
  const message = reader.rest();
  if (message.length > settings.maxMessageBytes) {
    return refuse(Status.RESOURCE_EXHAUSTED, requestTooLarge(message.length, settings.maxMessageBytes));
  }
  try {
    const input = method.input.decode(message);
    return { hosted, metadata: metadata ?? new Metadata(), input, messageBytes: message.length };
  } catch (err) {
    const status = StatusError.from(err, Status.INVALID_ARGUMENT);
    return refuse(status.code, status.message);
  }
}

export function requestTooLarge(size: number, limit: number): string {
  return `request message of ${size} bytes is over the limit of ${limit}`;
}

function refuse(code: Status, message: string): RefusedRequest {
  return { refused: { code, message } };
}
