import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { StatusError } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { codeFromHttpStatus, isStatus, Status } from '../../contract/status.ts';
import { decodeGrpcMessage, encodeGrpcMessage } from './grpc-message.ts';
import { addMetadataHeaders } from './headers.ts';
import { decodeStatusDetails, encodeStatusDetails } from './status-details.ts';

/** Adds `grpc-status`, `grpc-message`, `grpc-status-details-bin` and trailing metadata to `headers`. */
export function addStatusHeaders(
  headers: OutgoingHttpHeaders,
  error: StatusError | undefined,
  trailers: Metadata | undefined,
): OutgoingHttpHeaders {
  if (error === undefined) {
    headers['grpc-status'] = '0';
    addMetadataHeaders(headers, trailers);
    return headers;
  }
  headers['grpc-status'] = String(error.code);
  if (error.message) headers['grpc-message'] = encodeGrpcMessage(error.message);
  if (error.details.length > 0) {
    headers['grpc-status-details-bin'] = encodeStatusDetails(
      error.code,
      error.message,
      error.details,
    ).toString('base64');
  }
  addMetadataHeaders(headers, trailers);
  addMetadataHeaders(headers, error.metadata);
  return headers;
}

/**
 * The status carried by trailers (or by the headers of a trailers-only response): undefined for
 * OK, a StatusError otherwise, with `metadata` as its trailing metadata. Without `grpc-status`,
 * the HTTP status decides (gRPC's HTTP to status mapping).
 */
export function statusFromTrailers(
  headers: IncomingHttpHeaders,
  metadata: Metadata,
  httpStatus: number,
): StatusError | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) {
    if (httpStatus !== 200) {
      return new StatusError(
        codeFromHttpStatus(httpStatus),
        `received HTTP status ${httpStatus} without grpc-status`,
        {
          metadata,
        },
      );
    }
    return new StatusError(Status.INTERNAL, 'the server ended the call without a grpc-status', { metadata });
  }
  const code = Number(raw);
  if (!isStatus(code)) {
    return new StatusError(Status.UNKNOWN, `invalid grpc-status ${JSON.stringify(raw)}`, { metadata });
  }
  const messageHeader = headers['grpc-message'];
  const message = typeof messageHeader === 'string' ? decodeGrpcMessage(messageHeader) : '';
  if (code === Status.OK) return undefined;
  const detailsHeader = headers['grpc-status-details-bin'];
  const rich =
    typeof detailsHeader === 'string' ? decodeStatusDetails(Buffer.from(detailsHeader, 'base64')) : undefined;
  return new StatusError(code, message, { metadata, details: rich?.details });
}

/** What a client reports when the server (or the network) resets a stream it had no status for. */
export function statusFromRstCode(rstCode: number): StatusError {
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return new StatusError(
        Status.UNAVAILABLE,
        'the server refused the stream (RST_STREAM REFUSED_STREAM)',
        {
          unprocessed: true,
        },
      );
    case constants.NGHTTP2_CANCEL:
      return new StatusError(Status.CANCELLED, 'the server cancelled the call (RST_STREAM CANCEL)');
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return new StatusError(
        Status.RESOURCE_EXHAUSTED,
        'the server asked us to slow down (ENHANCE_YOUR_CALM)',
      );
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return new StatusError(
        Status.PERMISSION_DENIED,
        'inadequate security (RST_STREAM INADEQUATE_SECURITY)',
      );
    default:
      return new StatusError(Status.INTERNAL, `the stream was reset with HTTP/2 error code ${rstCode}`);
  }
}
