import { GoawayCode, goawayCodeName } from './frame.ts';

/**
 * A connection-level violation of the native protocol: the connection answers with GOAWAY
 * carrying `code` and closes. Never reaches a caller as is; calls see UNAVAILABLE or INTERNAL.
 */
export class ProtocolError extends Error {
  readonly code: GoawayCode;

  constructor(code: GoawayCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }

  override toString(): string {
    return `${goawayCodeName(this.code)}: ${this.message}`;
  }
}

export function protocolError(message: string): ProtocolError {
  return new ProtocolError(GoawayCode.PROTOCOL_ERROR, message);
}
