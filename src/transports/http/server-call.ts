import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { ServerCallContext } from '../../core/context.ts';
import type { HostedMethod } from '../../core/host.ts';
import { peerIdentity } from '../tls/peer-identity.ts';
import { type BodyConsumer, readBody, readBodyAsync } from './body-reader.ts';
import { type RequestHead, readRequestHead } from './headers.ts';
import { BodyTooLargeError, unsupportedMediaType } from './http-errors.ts';
import { isJsonType, isNdjsonType } from './media-types.ts';
import type { RequestBinder } from './request-binding.ts';
import { bufferedMessages, iterate, ndjsonMessages, parseJson } from './request-stream.ts';
import { closeAfterAnswer, writeError, writeUnary } from './response-writer.ts';
import { StreamResponder, streamFormat } from './stream-responder.ts';

/** One HTTP binding of a hosted method, ready to serve. */
export interface HttpRoute {
  readonly hosted: HostedMethod;
  readonly binder: RequestBinder;
  /** The JSON answered for a response message (whole, or its response_body field). */
  readonly respond: (message: unknown) => JsonValue;
}

/** What calls share with the server that runs them. */
export interface CallEnvironment {
  readonly maxBodyBytes: number;
  /** Calls in flight, so that close() can wait for them and then cancel the rest. */
  readonly calls: { add(ctx: ServerCallContext): void; delete(ctx: ServerCallContext): void };
}

const CALL = Symbol('switchboard.httpCall');
type Carrier = ServerResponse & { [CALL]?: HttpCall };

/**
 * Serves one routed request: reads the head (metadata, deadline), makes the call context,
 * binds the request message from path, query and body, invokes the method and writes the
 * answer. Nothing here throws: every failure becomes an HTTP answer with a status.
 */
export function serveCall(
  env: CallEnvironment,
  route: HttpRoute,
  req: IncomingMessage,
  res: ServerResponse,
  segments: readonly string[],
  query: string | undefined,
): void {
  let head: RequestHead;
  try {
    head = readRequestHead(req.rawHeaders);
  } catch (err) {
    writeError(res, StatusError.from(err, Status.INVALID_ARGUMENT));
    return;
  }
  new HttpCall(env, route, req, res, head, segments, query).start();
}

/**
 * One call over HTTP. A class with methods rather than closures: this runs per request, and
 * the listeners it needs are module functions that find the call on the response.
 */
class HttpCall implements BodyConsumer {
  readonly #env: CallEnvironment;
  readonly #route: HttpRoute;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #head: RequestHead;
  readonly #segments: readonly string[];
  readonly #query: string | undefined;
  readonly #ctx: ServerCallContext;

  constructor(
    env: CallEnvironment,
    route: HttpRoute,
    req: IncomingMessage,
    res: ServerResponse,
    head: RequestHead,
    segments: readonly string[],
    query: string | undefined,
  ) {
    this.#env = env;
    this.#route = route;
    this.#req = req;
    this.#res = res;
    this.#head = head;
    this.#segments = segments;
    this.#query = query;
    this.#ctx = new ServerCallContext({
      method: route.hosted.descriptor,
      metadata: head.metadata,
      deadline: head.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + head.timeoutMs,
      transport: 'http',
      peer: peerOf(req),
      identity: peerIdentity(req.socket),
    });
    env.calls.add(this.#ctx);
    (res as Carrier)[CALL] = this;
    res.on('close', onResponseClose);
  }

  start(): void {
    const head = this.#head;
    if (this.#route.hosted.descriptor.requestStream) {
      this.#streamedInput();
    } else if (!this.#route.binder.takesBody) {
      this.#bind(undefined);
    } else if (!isJsonType(head.contentType)) {
      this.fail(unsupportedMediaType(head.contentType, 'application/json'));
    } else {
      readBody(this.#req, this.#env.maxBodyBytes, head.contentLength, this);
    }
  }

  bodyRead(err: StatusError | undefined, body: Buffer): void {
    if (err) {
      this.fail(err);
      return;
    }
    let json: unknown;
    try {
      json = body.length === 0 ? undefined : parseJson(body.toString('utf8'));
    } catch (parseError) {
      this.fail(parseError);
      return;
    }
    this.#bind(json);
  }

  /** The response finished or the connection closed: 'close' comes once either way. */
  closed(): void {
    this.#env.calls.delete(this.#ctx);
    // Closed before the answer was complete: the client went away, so the work stops.
    if (!this.#res.writableFinished)
      this.#ctx.cancel(new StatusError(Status.CANCELLED, 'the client went away'));
  }

  fail(err: unknown): void {
    if (err instanceof BodyTooLargeError) closeAfterAnswer(this.#req, this.#res);
    writeError(this.#res, StatusError.from(err, Status.INTERNAL), { ctx: this.#ctx });
  }

  #bind(json: unknown): void {
    let input: unknown;
    try {
      input = this.#route.binder.bind(this.#segments, this.#query, json);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.#route.hosted.descriptor.responseStream) this.#runStream(input);
    else void this.#runUnary(input);
  }

  /**
   * Client streaming with an NDJSON body streams into the handler as it arrives. Bidi reads the
   * whole body first (half-duplex: HTTP/1.1 clients send the request before reading the answer,
   * so answering early could deadlock both sides on full buffers), as does a JSON array body.
   */
  #streamedInput(): void {
    const { contentType, contentLength } = this.#head;
    const descriptor = this.#route.hosted.descriptor;
    const ndjson = contentType === undefined || isNdjsonType(contentType);
    if (!ndjson && !isJsonType(contentType)) {
      this.fail(unsupportedMediaType(contentType, 'application/x-ndjson'));
      return;
    }
    if (ndjson && !descriptor.responseStream) {
      void this.#runUnary(ndjsonMessages(this.#req, descriptor.input, this.#env.maxBodyBytes));
      return;
    }
    readBodyAsync(this.#req, this.#env.maxBodyBytes, contentLength).then((body) => {
      let messages: unknown[];
      try {
        messages = bufferedMessages(body, contentType ?? 'application/x-ndjson', descriptor.input);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (descriptor.responseStream) this.#runStream(iterate(messages));
      else void this.#runUnary(iterate(messages));
    }, this.fail.bind(this));
  }

  async #runUnary(input: unknown): Promise<void> {
    let body: string;
    try {
      const output = await this.#route.hosted.invoke(this.#ctx, input);
      body = JSON.stringify(this.#route.respond(output));
    } catch (err) {
      this.fail(err);
      return;
    }
    writeUnary(this.#res, this.#ctx, body);
  }

  #runStream(input: unknown): void {
    const responder = new StreamResponder(
      this.#res,
      this.#ctx,
      streamFormat(this.#head.accept),
      this.#route.respond,
    );
    this.#route.hosted.invoke(this.#ctx, input, responder.send).then(
      () => responder.finish(),
      (err: unknown) => {
        if (err instanceof BodyTooLargeError) closeAfterAnswer(this.#req, this.#res);
        responder.finish(StatusError.from(err));
      },
    );
  }
}

function onResponseClose(this: Carrier): void {
  this[CALL]?.closed();
}

const PEER = Symbol('switchboard.peer');

/** "host:port" of the client, worked out once per connection (keep-alive serves many calls). */
function peerOf(req: IncomingMessage): string {
  const socket = req.socket as IncomingMessage['socket'] & { [PEER]?: string };
  let peer = socket[PEER];
  if (peer === undefined) {
    const address = socket.remoteAddress ?? '';
    peer = address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
    socket[PEER] = peer;
  }
  return peer;
}
