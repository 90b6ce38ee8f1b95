import type { IncomingHttpHeaders } from 'node:http';
import { type StatusDetail, StatusError } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { codeFromHttpStatus, isStatus, Status, statusFromName, statusName } from '../../contract/status.ts';
import { decodeGrpcMessage } from '../grpc/grpc-message.ts';

/**
 * The JSON of an error, shaped like google.rpc.Status (and grpc-gateway's errors):
 *
 *     {"code": 3, "status": "INVALID_ARGUMENT", "message": "…", "details": [{"@type": "…", "value": "<base64>"}]}
 *
 * `code` is the gRPC code (not the HTTP status); each detail is a google.protobuf.Any whose
 * bytes stay base64 in `value`, since the server cannot know every detail type.
 */
export interface StatusJson {
  code: number;
  status: string;
  message: string;
  details: { '@type': string; value: string }[];
}

export function statusJson(err: StatusError): StatusJson {
  return {
    code: err.code,
    status: statusName(err.code),
    message: err.message,
    details: err.details.map((d) => ({ '@type': d.typeUrl, value: Buffer.from(d.value).toString('base64') })),
  };
}

/** Whether a parsed JSON value looks like a StatusJson (an integer code, and a status or message). */
export function isStatusJson(value: unknown): value is Partial<StatusJson> & { code: number } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return Number.isInteger(v.code) && (typeof v.status === 'string' || typeof v.message === 'string');
}

/** The StatusError a StatusJson stands for; `trailers` become the error's metadata. */
export function statusErrorFromJson(
  json: Partial<StatusJson> & { code: number },
  trailers?: Metadata,
): StatusError {
  const byName = typeof json.status === 'string' ? statusFromName(json.status) : undefined;
  // Google's own JSON errors put the HTTP status in `code`: the name (or that status) decides then.
  const code = isStatus(json.code)
    ? json.code
    : (byName ?? (json.code >= 100 ? codeFromHttpStatus(json.code) : Status.UNKNOWN));
  const details: StatusDetail[] = [];
  for (const d of Array.isArray(json.details) ? json.details : []) {
    if (d && typeof d['@type'] === 'string' && typeof d.value === 'string') {
      details.push({ typeUrl: d['@type'], value: Buffer.from(d.value, 'base64') });
    }
  }
  return new StatusError(code, typeof json.message === 'string' ? json.message : statusName(code), {
    metadata: trailers,
    details,
  });
}

/**
 * The error of a non-2xx response: from its JSON body when that is a StatusJson (also wrapped
 * as `{"error": {…}}`), else from the grpc-status header, else from the HTTP status.
 */
export function statusErrorFromResponse(
  httpStatus: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
  trailers?: Metadata,
): StatusError {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (isStatusJson(parsed)) return statusErrorFromJson(parsed, trailers);
  const wrapped = (parsed as { error?: unknown } | undefined)?.error;
  if (isStatusJson(wrapped)) return statusErrorFromJson(wrapped, trailers);
  const grpcStatus = Number(headerText(headers['grpc-status']));
  const message = headerText(headers['grpc-message']);
  if (headers['grpc-status'] !== undefined && isStatus(grpcStatus)) {
    return new StatusError(grpcStatus, message ? decodeGrpcMessage(message) : statusName(grpcStatus), {
      metadata: trailers,
    });
  }
  const snippet = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  // A URL or headers too large (a GET rule whose query cannot hold the request) are limits too.
  const code =
    httpStatus === 414 || httpStatus === 431 ? Status.RESOURCE_EXHAUSTED : codeFromHttpStatus(httpStatus);
  return new StatusError(
    code,
    `HTTP ${httpStatus}${snippet ? `: ${snippet.replace(/\s+/g, ' ').trim()}` : ''}`,
    { metadata: trailers },
  );
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
