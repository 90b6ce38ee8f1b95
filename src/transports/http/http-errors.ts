import { StatusError } from '../../contract/errors.ts';
import { Status as Code, type Status } from '../../contract/status.ts';

/** A status whose HTTP answer is not the code's usual one (input problems HTTP has its own statuses for). */
export class HttpStatusError extends StatusError {
  readonly httpStatus: number;

  constructor(code: Status, message: string, httpStatus: number) {
    super(code, message);
    this.httpStatus = httpStatus;
  }
}

/** A body (or one streamed message) over the size limit: 413, and the connection is closed. */
export class BodyTooLargeError extends HttpStatusError {
  constructor(message: string) {
    super(Code.RESOURCE_EXHAUSTED, message, 413);
  }
}

/** 415, with INVALID_ARGUMENT as the code in the body. */
export function unsupportedMediaType(contentType: string | undefined, expected: string): HttpStatusError {
  return new HttpStatusError(
    Code.INVALID_ARGUMENT,
    `unsupported content-type ${JSON.stringify(contentType ?? '')}: send ${expected}`,
    415,
  );
}
