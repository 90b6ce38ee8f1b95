/** gRPC status codes: the one status model of every transport. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type Status = (typeof Status)[keyof typeof Status];

const names: string[] = [];
for (const [name, code] of Object.entries(Status)) names[code] = name;

export function statusName(code: number): string {
  return names[code] ?? `CODE_${code}`;
}

export function isStatus(code: number): code is Status {
  return Number.isInteger(code) && code >= 0 && code <= 16;
}

export function statusFromName(name: string): Status | undefined {
  const code = (Status as Record<string, Status>)[name.toUpperCase()];
  return code;
}

// The mapping google.rpc.Code documents (and grpc-gateway uses).
const toHttp: Record<Status, number> = {
  0: 200,
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

export function httpStatusFromCode(code: Status): number {
  return toHttp[code] ?? 500;
}

/** The status a client infers from an HTTP status when the body carries none (gRPC's HTTP mapping). */
export function codeFromHttpStatus(http: number): Status {
  if (http >= 200 && http < 300) return Status.OK;
  switch (http) {
    case 400:
      return Status.INVALID_ARGUMENT;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 408:
    case 504:
      return Status.DEADLINE_EXCEEDED;
    case 409:
      return Status.ABORTED;
    case 413:
    case 429:
      return Status.RESOURCE_EXHAUSTED;
    case 499:
      return Status.CANCELLED;
    case 501:
      return Status.UNIMPLEMENTED;
    case 502:
    case 503:
      return Status.UNAVAILABLE;
    default:
      return http >= 500 ? Status.INTERNAL : Status.UNKNOWN;
  }
}
