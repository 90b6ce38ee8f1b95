import zlib from 'node:zlib';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { ACCEPT_ENCODING } from './headers.ts';

/** Inflates one compressed message; its output is capped at the message limit. */
export type Decompressor = (body: Buffer, maxBytes: number) => Buffer;

const DECOMPRESSORS: Record<string, Decompressor> = {
  gzip: (body, maxBytes) => zlib.gunzipSync(body, { maxOutputLength: maxBytes }),
  deflate: (body, maxBytes) => zlib.inflateSync(body, { maxOutputLength: maxBytes }),
};

/**
 * The decompressor for a `grpc-encoding` header: undefined for identity (or none), where a
 * compressed message is a protocol error. An encoding we do not know is UNIMPLEMENTED.
 */
export function decompressorFor(encoding: string | undefined): Decompressor | undefined {
  if (encoding === undefined || encoding === 'identity') return undefined;
  const decompressor = DECOMPRESSORS[encoding];
  if (!decompressor) {
    throw new StatusError(
      Status.UNIMPLEMENTED,
      `unsupported grpc-encoding ${JSON.stringify(encoding)} (accepted: ${ACCEPT_ENCODING})`,
    );
  }
  return decompressor;
}

/** The message bytes of a frame, inflated if its compressed-flag is set. */
export function inflateFrame(
  body: Buffer,
  compressed: boolean,
  decompressor: Decompressor | undefined,
  maxBytes: number,
): Buffer {
  if (!compressed) return body;
  if (!decompressor) {
    throw new StatusError(
      Status.INTERNAL,
      'a message has the compressed-flag set but no grpc-encoding was given',
    );
  }
  try {
    return decompressor(body, maxBytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new StatusError(
        Status.RESOURCE_EXHAUSTED,
        `a decompressed message exceeds the limit of ${maxBytes} bytes`,
      );
    }
    throw new StatusError(Status.INTERNAL, `cannot decompress a message: ${(err as Error).message}`);
  }
}
