import type { StatusDetail } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { GoawayCode, MAGIC, Setting, StatusFlag } from './frame.ts';
import type { Settings } from './frame-writer.ts';
import { readMetadataBlock } from './metadata-block.ts';
import { PayloadReader } from './payload-reader.ts';
import { ProtocolError, protocolError } from './protocol-error.ts';

/** Decoders of the frame payloads FrameWriter encodes; each throws ProtocolError on a bad layout. */

export interface Hello {
  version: number;
  settings: Partial<Settings>;
}

export function readHello(buf: Buffer, start = 0, end = buf.length): Hello {
  const reader = new PayloadReader(buf, 'HELLO', start, end);
  if (end - start < MAGIC.length + 2 || MAGIC.compare(buf, start, start + MAGIC.length) !== 0) {
    throw protocolError('the HELLO frame does not start with the native protocol magic');
  }
  reader.pos = start + MAGIC.length;
  const version = reader.u8();
  reader.u8();
  const settings: Partial<Settings> = {};
  if (reader.remaining % 6 !== 0) throw protocolError('HELLO settings must be 6 bytes each');
  while (reader.remaining > 0) {
    const id = reader.u16();
    const value = reader.u32();
    switch (id) {
      case Setting.MAX_MESSAGE_BYTES:
        settings.maxMessageBytes = value;
        break;
      case Setting.MAX_CONCURRENT_STREAMS:
        settings.maxConcurrentStreams = value;
        break;
      case Setting.INITIAL_WINDOW_BYTES:
        settings.initialWindowBytes = value;
        break;
      case Setting.MAX_METADATA_BYTES:
        settings.maxMetadataBytes = value;
        break;
      // Unknown settings are ignored, so later versions can add some.
    }
  }
  return { version, settings };
}

export interface StatusPayload {
  code: number;
  message: string;
  headers: Metadata | undefined;
  trailers: Metadata | undefined;
  details: readonly StatusDetail[];
  /** The response message, when the frame has one (a view into the received bytes). */
  response: Buffer | undefined;
}

const NO_DETAILS: readonly StatusDetail[] = Object.freeze([]);

export function readStatus(buf: Buffer, flags: number, start = 0, end = buf.length): StatusPayload {
  const reader = new PayloadReader(buf, 'STATUS', start, end);
  const code = reader.u8();
  const message = reader.utf8(reader.u32());
  const headers = flags & StatusFlag.HAS_HEADERS ? readMetadataBlock(reader) : undefined;
  const trailers = readMetadataBlock(reader);
  const count = reader.u16();
  const details: StatusDetail[] | readonly StatusDetail[] = count === 0 ? NO_DETAILS : [];
  for (let i = 0; i < count; i++) {
    const typeUrl = reader.utf8(reader.u16());
    (details as StatusDetail[]).push({ typeUrl, value: reader.copy(reader.u32()) });
  }
  const response = flags & StatusFlag.HAS_MESSAGE ? reader.rest() : undefined;
  if (reader.remaining > 0) throw protocolError('STATUS frame has bytes after its details');
  return { code, message, headers, trailers, details, response };
}

export interface Goaway {
  lastStreamId: number;
  code: number;
  reason: string;
}

export function readGoaway(buf: Buffer, start = 0, end = buf.length): Goaway {
  const reader = new PayloadReader(buf, 'GOAWAY', start, end);
  const lastStreamId = reader.u32();
  const code = reader.u8();
  const reason = reader.utf8(reader.u16());
  return { lastStreamId, code, reason };
}

export function readWindow(buf: Buffer, start = 0, end = buf.length): number {
  if (end - start !== 4) throw new ProtocolError(GoawayCode.PROTOCOL_ERROR, 'WINDOW payload must be 4 bytes');
  return buf.readUInt32BE(start);
}

/** CANCEL's optional status code; CANCELLED when absent. */
export function readCancel(buf: Buffer, start = 0, end = buf.length): number {
  return end > start ? buf[start]! : 1;
}
