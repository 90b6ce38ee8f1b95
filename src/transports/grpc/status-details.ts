import path from 'node:path';
import type protobuf from 'protobufjs';
import { createRoot } from '../../contract/contract.ts';
import type { StatusDetail } from '../../contract/errors.ts';
import { BUNDLED_PROTO_DIR } from '../../contract/paths.ts';

/** google.rpc.Status as decoded from `grpc-status-details-bin`. */
export interface RichStatus {
  code: number;
  message: string;
  details: StatusDetail[];
}

/** google.protobuf.Any comes from protobufjs's built-in copy, which keeps the name type_url. */
interface AnyMessage {
  typeUrl?: string;
  type_url?: string;
  value?: Uint8Array;
}

interface StatusMessage {
  code?: number;
  message?: string;
  details?: AnyMessage[];
}

let statusType: protobuf.Type | undefined;

/** Loaded on first use: most calls never carry details. */
function rpcStatus(): protobuf.Type {
  if (!statusType) {
    const root = createRoot();
    root.loadSync(path.join(BUNDLED_PROTO_DIR, 'google/rpc/status.proto'), { keepCase: false });
    statusType = root.lookupType('google.rpc.Status');
  }
  return statusType;
}

export function encodeStatusDetails(code: number, message: string, details: readonly StatusDetail[]): Buffer {
  const type = rpcStatus();
  const value: StatusMessage = {
    code,
    message,
    details: details.map((d) => ({ typeUrl: d.typeUrl, type_url: d.typeUrl, value: d.value })),
  };
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

/** Undefined when the bytes are not a google.rpc.Status: bad details never hide the status. */
export function decodeStatusDetails(bytes: Uint8Array): RichStatus | undefined {
  try {
    const decoded = rpcStatus().decode(bytes) as unknown as StatusMessage;
    return {
      code: decoded.code ?? 0,
      message: decoded.message ?? '',
      details: (decoded.details ?? []).map((d) => ({
        typeUrl: d.typeUrl ?? d.type_url ?? '',
        value: Uint8Array.from(d.value ?? new Uint8Array(0)),
      })),
    };
  } catch {
    return undefined;
  }
}
