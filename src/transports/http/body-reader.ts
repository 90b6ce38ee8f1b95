import type { IncomingMessage } from 'node:http';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { BodyTooLargeError } from './http-errors.ts';

/** Receives a body once it is read whole, or why it could not be. */
export interface BodyConsumer {
  bodyRead(err: StatusError | undefined, body: Buffer): void;
}

const READER = Symbol('switchboard.bodyReader');
type Carrier = IncomingMessage & { [READER]?: BodyReader };
const EMPTY = Buffer.alloc(0);

/**
 * Reads a whole request body, refusing more than `limit` bytes: at once when the declared
 * Content-Length says so, else as soon as the count passes it (reading then stops). A small
 * body arrives in one chunk, which is passed on as it is. A client that goes away mid-body is
 * CANCELLED. This runs for every call with a body, so it allocates no closure and no promise:
 * the listeners are module functions that find their reader on the request.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  declared: number | undefined,
  to: BodyConsumer,
): void {
  if (declared !== undefined && declared > limit) {
    to.bodyRead(new BodyTooLargeError(`request body larger than ${limit} bytes`), EMPTY);
    return;
  }
  (req as Carrier)[READER] = new BodyReader(req, limit, to);
  req.on('data', onData);
  req.on('end', onEnd);
  // A connection that goes away mid-body makes the request emit 'error' ("aborted").
  req.on('error', onGone);
}

/** readBody as a promise, for the paths that are not per-call hot. */
export function readBodyAsync(
  req: IncomingMessage,
  limit: number,
  declared: number | undefined,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readBody(req, limit, declared, { bodyRead: (err, body) => (err ? reject(err) : resolve(body)) });
  });
}

class BodyReader {
  readonly #req: IncomingMessage;
  readonly #limit: number;
  readonly #to: BodyConsumer;
  #first: Buffer | undefined;
  #chunks: Buffer[] | undefined;
  #size = 0;
  #finished = false;

  constructor(req: IncomingMessage, limit: number, to: BodyConsumer) {
    this.#req = req;
    this.#limit = limit;
    this.#to = to;
  }

  data(chunk: Buffer): void {
    if (this.#finished) return;
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      this.#req.pause();
      this.finish(new BodyTooLargeError(`request body larger than ${this.#limit} bytes`));
      return;
    }
    if (this.#first === undefined) this.#first = chunk;
    else if (this.#chunks === undefined) this.#chunks = [this.#first, chunk];
    else this.#chunks.push(chunk);
  }

  finish(err?: StatusError): void {
    if (this.#finished) return;
    this.#finished = true;
    if (err) this.#to.bodyRead(err, EMPTY);
    else
      this.#to.bodyRead(
        undefined,
        this.#chunks ? Buffer.concat(this.#chunks, this.#size) : (this.#first ?? EMPTY),
      );
  }
}

function onData(this: Carrier, chunk: Buffer): void {
  this[READER]?.data(chunk);
}

function onEnd(this: Carrier): void {
  this[READER]?.finish();
}

function onGone(this: Carrier): void {
  this[READER]?.finish(new StatusError(Status.CANCELLED, 'the client went away while sending the body'));
}
