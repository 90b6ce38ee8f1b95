import type { ServerResponse } from 'node:http';
import type { JsonValue } from '../../contract/descriptors.ts';
import type { StatusError } from '../../contract/errors.ts';
import type { ServerCallContext } from '../../core/context.ts';
import { encodeGrpcMessage } from '../grpc/grpc-message.ts';
import { pushMetadataHeaders } from './headers.ts';
import { NDJSON_CONTENT_TYPE, SSE_CONTENT_TYPE } from './media-types.ts';
import { writeError } from './response-writer.ts';
import { sseError, sseMessage } from './sse.ts';
import { statusJson } from './status-body.ts';

export type StreamFormat = 'ndjson' | 'sse';

/** SSE when the client asks for text/event-stream, else NDJSON. */
export function streamFormat(accept: string | undefined): StreamFormat {
  return accept?.includes(SSE_CONTENT_TYPE) ? 'sse' : 'ndjson';
}

/**
 * Writes a response stream: NDJSON (one JSON message per line) or SSE (one `data:` event per
 * message). The status line and headers go out with the first message, so a call that fails
 * before sending anything still gets its HTTP error status. A failure after that is reported
 * in-band: a last NDJSON line `{"error": <status JSON>}` or an SSE `event: error`. Either way
 * the stream ends with HTTP trailers: grpc-status, grpc-message and the call's trailers.
 */
export class StreamResponder {
  readonly #res: ServerResponse;
  readonly #ctx: ServerCallContext;
  readonly #format: StreamFormat;
  readonly #toJson: (message: unknown) => JsonValue;
  #started = false;
  #drain: Promise<void> | undefined;

  constructor(
    res: ServerResponse,
    ctx: ServerCallContext,
    format: StreamFormat,
    toJson: (m: unknown) => JsonValue,
  ) {
    this.#res = res;
    this.#ctx = ctx;
    this.#format = format;
    this.#toJson = toJson;
  }

  /** The host's `send`: a promise when the socket's buffer is full (backpressure). */
  readonly send = (message: unknown): void | Promise<void> => {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return; // the caller left; the host sees ctx.cancelled
    const json = JSON.stringify(this.#toJson(message));
    if (!this.#started) this.#start();
    const ok = res.write(this.#format === 'sse' ? sseMessage(json) : `${json}\n`);
    if (!ok) return this.#waitDrain();
  };

  /** Ends the stream, with `err` when the call failed. */
  finish(err?: StatusError): void {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return;
    if (err && !this.#started) {
      writeError(res, err, { ctx: this.#ctx });
      return;
    }
    if (!this.#started) this.#start();
    const trailers: string[] = [];
    if (err) {
      const json = JSON.stringify(statusJson(err));
      res.write(this.#format === 'sse' ? sseError(json) : `{"error":${json}}\n`);
      trailers.push('grpc-status', String(err.code), 'grpc-message', encodeGrpcMessage(err.message));
    } else {
      trailers.push('grpc-status', '0');
    }
    pushMetadataHeaders(trailers, this.#ctx.peekResponseTrailers());
    pushMetadataHeaders(trailers, err?.metadata);
    addTrailers(res, trailers);
    res.end();
  }

  #start(): void {
    const headers = [
      'content-type',
      this.#format === 'sse' ? SSE_CONTENT_TYPE : NDJSON_CONTENT_TYPE,
      'cache-control',
      'no-cache',
      'trailer',
      'grpc-status, grpc-message',
    ];
    pushMetadataHeaders(headers, this.#ctx.peekResponseHeaders());
    this.#started = true;
    try {
      this.#res.writeHead(200, headers);
    } catch {
      this.#res.writeHead(200, headers.slice(0, 6)); // metadata HTTP cannot carry: dropped
    }
  }

  #waitDrain(): Promise<void> {
    this.#drain ??= new Promise((resolve) => {
      const res = this.#res;
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        this.#drain = undefined;
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
    return this.#drain;
  }
}

function addTrailers(res: ServerResponse, flat: readonly string[]): void {
  const pairs: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i] as string, flat[i + 1] as string]);
  try {
    res.addTrailers(pairs);
  } catch {
    res.addTrailers(pairs.slice(0, 2));
  }
}
