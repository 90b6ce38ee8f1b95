/**
 * What every HTTP operation shares: the error body (google.rpc.Status as the HTTP transport
 * writes it, transports/http/status-body.ts), the error responses, and the deadline headers.
 */
import { Status } from '../status.ts';
import type { JsonSchema } from './schema-types.ts';

export const STATUS_SCHEMA_NAME = 'switchboard.http.Status';
export const STREAM_ERROR_SCHEMA_NAME = 'switchboard.http.StreamError';

const STATUS_NAMES = Object.keys(Status);

export function statusSchemas(refPrefix: string): Record<string, JsonSchema> {
  return {
    [STATUS_SCHEMA_NAME]: {
      title: 'Status',
      type: 'object',
      description:
        'The error of a call: "code" is the gRPC status code (not the HTTP status), "status" its name.',
      properties: {
        code: { type: 'integer', minimum: 0, maximum: 16 },
        status: { type: 'string', enum: STATUS_NAMES },
        message: { type: 'string' },
        details: {
          type: 'array',
          description: 'google.protobuf.Any messages, their bytes base64 in "value".',
          items: {
            type: 'object',
            properties: {
              '@type': { type: 'string' },
              value: { type: 'string', contentEncoding: 'base64' },
            },
            required: ['@type', 'value'],
          },
        },
      },
      required: ['code', 'status', 'message'],
    },
    [STREAM_ERROR_SCHEMA_NAME]: {
      title: 'StreamError',
      type: 'object',
      description: 'The last line of a response stream that failed after its first message.',
      properties: { error: { $ref: `${refPrefix}${STATUS_SCHEMA_NAME}` } },
      required: ['error'],
      additionalProperties: false,
    },
  };
}

/** components.responses: one entry per error answer the transport gives. */
export const ERROR_RESPONSES = {
  InvalidArgument: {
    status: '400',
    description:
      'Malformed JSON, a value that does not fit the request, or an unknown query parameter (INVALID_ARGUMENT).',
  },
  PayloadTooLarge: {
    status: '413',
    description: "The body is over the server's limit (RESOURCE_EXHAUSTED); the connection is closed.",
  },
  UnsupportedMediaType: { status: '415', description: 'The body is not JSON (INVALID_ARGUMENT).' },
  Unavailable: { status: '503', description: 'The server is shutting down or overloaded (UNAVAILABLE).' },
  DeadlineExceeded: { status: '504', description: "The call's deadline passed (DEADLINE_EXCEEDED)." },
  Error: {
    status: 'default',
    description: 'Any other status, mapped to its HTTP status (google.rpc codes).',
  },
} as const;

export type ErrorResponseName = keyof typeof ERROR_RESPONSES;

export function errorResponses(refPrefix: string): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const [name, { description }] of Object.entries(ERROR_RESPONSES)) {
    out[name] = {
      description,
      headers: {
        'grpc-status': { description: 'The gRPC status code.', schema: { type: 'integer' } },
        'grpc-message': { description: 'The status message, percent-encoded.', schema: { type: 'string' } },
      },
      content: { 'application/json': { schema: { $ref: `${refPrefix}${STATUS_SCHEMA_NAME}` } } },
    };
  }
  return out;
}

/** components.parameters: the two deadline headers every operation takes. */
export const DEADLINE_PARAMETERS: Record<string, JsonSchema> = {
  TimeoutMs: {
    name: 'x-timeout-ms',
    in: 'header',
    description: "The call's deadline, in milliseconds from now.",
    schema: { type: 'integer', minimum: 0 },
  },
  GrpcTimeout: {
    name: 'grpc-timeout',
    in: 'header',
    description: 'The deadline in gRPC\'s format ("1500m": 1500 ms); the earlier of the two wins.',
    schema: { type: 'string', pattern: '^[0-9]{1,8}[HMSmun]$' },
  },
};
