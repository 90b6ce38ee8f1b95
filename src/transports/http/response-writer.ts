import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { StatusError } from '../../contract/errors.ts';
import { httpStatusFromCode } from '../../contract/status.ts';
import type { ServerCallContext } from '../../core/context.ts';
import { encodeGrpcMessage } from '../grpc/grpc-message.ts';
import { pushMetadataHeaders, TRAILER_PREFIX } from './headers.ts';
import { HttpStatusError } from './http-errors.ts';
import { JSON_CONTENT_TYPE } from './media-types.ts';
import { statusJson } from './status-body.ts';

/** One writeHead and one end: the whole response in a single write. */
export function writeJson(
  res: ServerResponse,
  status: number,
  body: string,
  extra?: readonly string[],
): void {
  const headers = ['content-type', JSON_CONTENT_TYPE, 'content-length', String(Buffer.byteLength(body))];
  if (extra) for (const h of extra) headers.push(h);
  res.writeHead(status, headers);
  res.end(body);
}

/** A successful unary answer: response headers as headers, trailers as `grpc-trailer-*` headers. */
export function writeUnary(res: ServerResponse, ctx: ServerCallContext, body: string): void {
  if (res.writableEnded || res.destroyed) return;
  const headerMeta = ctx.peekResponseHeaders();
  const trailerMeta = ctx.peekResponseTrailers();
  if (headerMeta === undefined && trailerMeta === undefined) {
    writeJson(res, 200, body);
    return;
  }
  const extra: string[] = [];
  pushMetadataHeaders(extra, headerMeta);
  pushMetadataHeaders(extra, trailerMeta, TRAILER_PREFIX);
  try {
    writeJson(res, 200, body, extra);
  } catch (err) {
    // A handler's metadata value that HTTP cannot carry (a newline…): fail the call clearly.
    writeJson(
      res,
      500,
      JSON.stringify({ code: 13, status: 'INTERNAL', message: (err as Error).message, details: [] }),
    );
  }
}

export interface ErrorResponseOptions {
  /** The HTTP status when not the one of the code (413, 415, 404 for routing, 405). */
  httpStatus?: number;
  ctx?: ServerCallContext;
  extraHeaders?: readonly string[];
}

/**
 * An error answer: the HTTP status of the code, a StatusJson body, grpc-status / grpc-message
 * headers (so a gRPC-aware client recovers the exact code without reading the body), the
 * call's response headers and, as `grpc-trailer-*`, its trailers and the error's metadata.
 */
export function writeError(res: ServerResponse, err: StatusError, options: ErrorResponseOptions = {}): void {
  if (res.headersSent || res.writableEnded || res.destroyed) {
    if (!res.writableEnded) res.end();
    return;
  }
  const extra = ['grpc-status', String(err.code), 'grpc-message', encodeGrpcMessage(err.message)];
  if (options.extraHeaders) extra.push(...options.extraHeaders);
  const body = JSON.stringify(statusJson(err));
  const status =
    options.httpStatus ?? (err instanceof HttpStatusError ? err.httpStatus : httpStatusFromCode(err.code));
  const withMetadata = [...extra];
  pushMetadataHeaders(withMetadata, options.ctx?.peekResponseHeaders());
  pushMetadataHeaders(withMetadata, options.ctx?.peekResponseTrailers(), TRAILER_PREFIX);
  pushMetadataHeaders(withMetadata, err.metadata, TRAILER_PREFIX);
  try {
    writeJson(res, status, body, withMetadata);
  } catch {
    writeJson(res, status, body, extra); // metadata HTTP cannot carry: drop it, keep the status
  }
}

/**
 * Answers, then closes the connection without resetting it. Node destroys a socket right after
 * a "Connection: close" answer; with request bytes still unread, the kernel then sends a RST,
 * which can make the client drop the answer unread. Instead: half-close, discard what the
 * client still sends for a moment, then destroy.
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse, lingerMs = 2000): void {
  res.shouldKeepAlive = false;
  const socket = res.socket as (Socket & { destroySoon?: () => void }) | null;
  if (!socket) return;
  socket.destroySoon = () => {
    socket.end();
    req.resume(); // flowing with no listener: the rest of the body is dropped, not buffered
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}
