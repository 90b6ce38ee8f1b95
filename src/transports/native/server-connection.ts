import type { Socket } from 'node:net';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { type PeerIdentity, ServerCallContext } from '../../core/context.ts';
import type { ServiceHost } from '../../core/host.ts';
import { peerIdentity } from '../tls/peer-identity.ts';
import { AbandonedCallBudget, RequestBuffer, TrickleGuard } from './abuse-limits.ts';
import {
  FrameType,
  framePayloadLimit,
  frameTypeName,
  GoawayCode,
  MAX_HELLO_BYTES,
  NO_TIMEOUT,
  PROTOCOL_VERSION,
} from './frame.ts';
import { FrameDecoder, type FrameHandler } from './frame-decoder.ts';
import { readCancel, readHello, readWindow } from './frame-payloads.ts';
import { IdleWatchdog, type IdleWatched } from './idle-watchdog.ts';
import { Keepalive, type KeepaliveHost } from './keepalive.ts';
import { MethodTable } from './method-table.ts';
import type { ServerConnectionConfig } from './options.ts';
import { ProtocolError, protocolError } from './protocol-error.ts';
import { ReadGate } from './read-gate.ts';
import { ServerCall, type ServerCallConnection } from './server-call.ts';
import { readRequestBody, readRequestHead, requestTooLarge } from './server-request.ts';
import { SocketWriter } from './socket-writer.ts';
import { StreamTable } from './stream-table.ts';

enum State {
  Handshake = 0,
  Open = 1,
  /** GOAWAY sent: in-flight calls finish, new ones are refused. */
  Draining = 2,
  Closed = 3,
}

/** How long a closing connection waits for the peer to close its side before destroying the socket. */
const LINGER_MS = 1000;

/** One client connection on a NativeServer: handshake, dispatch, limits, keepalive, shutdown. */
export class ServerConnection implements FrameHandler, KeepaliveHost, IdleWatched, ServerCallConnection {
  readonly socket: Socket;
  readonly writer: SocketWriter;
  readonly peer: string;
  /** The client certificate's identity on a mutual-TLS connection. */
  readonly identity: PeerIdentity | undefined;
  readonly #config: ServerConnectionConfig;
  readonly #decoder: FrameDecoder;
  readonly #keepalive: Keepalive;
  readonly #calls = new StreamTable<ServerCall>();
  readonly #methods: MethodTable;
  readonly #closed: Promise<void>;
  #state = State.Handshake;
  #lastStreamId = 0;
  #handshakeTimer: NodeJS.Timeout | undefined;
  readonly #idle: IdleWatchdog;
  readonly #abandoned: AbandonedCallBudget;
  readonly #trickle = new TrickleGuard();
  readonly #readGate: ReadGate;
  readonly #buffer: RequestBuffer;
  /** A CANCEL is being handled: the call it ends was abandoned, not completed. */
  #cancelling = false;
  /**
   * When the last complete frame arrived, the peer last read our backlog (a 'drain'), or a
   * handler last took a request while reading was paused for them.
   */
  lastFrameAt = Date.now();
  #frameSeen = false;
  peerMaxMessageBytes = 0;
  peerMaxMetadataBytes = 0;
  peerWindowBytes = 0;

  constructor(socket: Socket, host: ServiceHost, config: ServerConnectionConfig) {
    this.socket = socket;
    this.#methods = new MethodTable(host);
    this.#config = config;
    const address = socket.remoteAddress ?? 'unknown';
    this.peer = `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? 0}`;
    this.identity = peerIdentity(socket);
    this.#readGate = new ReadGate(socket);
    this.#buffer = new RequestBuffer(config.maxBufferBytes, this.#readGate);
    this.writer = new SocketWriter(socket, this.#readGate);
    this.#decoder = new FrameDecoder(this, MAX_HELLO_BYTES);
    this.#keepalive = new Keepalive(this, config.keepaliveMs, config.keepaliveTimeoutMs);
    this.#idle = new IdleWatchdog(this, config.idleTimeoutMs);
    this.#abandoned = new AbandonedCallBudget(config.maxAbandonedCalls);
    this.#closed = new Promise((resolve) => socket.once('close', resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // A peer that reads what we sent is making progress, though it sends nothing.
    socket.on('drain', () => {
      this.lastFrameAt = Date.now();
    });
    socket.on('close', () => this.#onClose());
    socket.on('error', () => {}); // 'close' follows; the calls learn of it there
    if (config.handshakeTimeoutMs > 0) {
      this.#handshakeTimer = setTimeout(
        () => this.#die(new ProtocolError(GoawayCode.HANDSHAKE_TIMEOUT, 'no HELLO in time')),
        config.handshakeTimeoutMs,
      );
      this.#handshakeTimer.unref();
    }
  }

  get windowBytes(): number {
    return this.#config.settings.initialWindowBytes;
  }

  /** Resolves once the socket is closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  get bufferedRequestBytes(): number {
    return this.#buffer.bytes;
  }

  /** Paused for held requests, a PONG could not be seen: the idle watchdog judges instead. */
  get notReading(): boolean {
    return this.#buffer.pausing;
  }

  /** Graceful close: GOAWAY, refuse new calls, close once in-flight calls are done. */
  drain(): void {
    if (this.#state === State.Handshake) {
      this.#destroy();
      return;
    }
    if (this.#state !== State.Open) return;
    this.#state = State.Draining;
    this.writer.goaway(this.#lastStreamId, GoawayCode.NO_ERROR, 'the server is shutting down');
    if (this.#calls.size === 0) this.#end();
  }

  /** The grace period is over: every call left is cancelled with `reason`, which the client receives. */
  abortCalls(reason: StatusError): void {
    for (const call of this.#calls.values()) call.abort(reason, true);
    if (this.#calls.size === 0) this.#end();
  }

  /** Closes the socket now, without waiting for anyone. */
  destroy(): void {
    this.#destroy();
  }

  holdRequestBytes(bytes: number): void {
    this.#buffer.hold(bytes);
  }

  releaseRequestBytes(bytes: number): void {
    // A handler taking requests while reading is paused is progress, as a frame would be.
    if (this.#buffer.release(bytes)) this.lastFrameAt = Date.now();
  }

  callDone(call: ServerCall): void {
    this.#calls.delete(call.id);
    if (!this.#cancelling) this.#abandoned.refund();
    if (this.#calls.size === 0) {
      this.lastFrameAt = Date.now();
      if (this.#state === State.Draining) this.#end();
    }
  }

  sendPing(data: Uint8Array): void {
    this.writer.ping(FrameType.PING, data);
  }

  /**
   * Idle, stuck mid-frame, or not read: behind answers the peer does not read (the socket writer
   * pauses reading while over 8 MiB are queued), or requests no handler takes.
   */
  get idleOrStuck(): boolean {
    return this.#calls.size === 0 || this.#decoder.partial || this.#readGate.paused;
  }

  idleExpired(waitedMs: number): void {
    const reason = this.#buffer.pausing
      ? `handlers took none of the ${this.#buffer.bytes} request bytes buffered for them in ${waitedMs} ms`
      : `no complete frame for ${waitedMs} ms`;
    this.#die(new ProtocolError(GoawayCode.IDLE_TIMEOUT, reason));
  }

  keepaliveExpired(): void {
    this.#die(new ProtocolError(GoawayCode.KEEPALIVE_TIMEOUT, 'no answer to PING'));
  }

  #onData(chunk: Buffer): void {
    this.#keepalive.active = true;
    try {
      this.#decoder.push(chunk);
      if (this.#frameSeen) this.#trickle.frameDone();
      else if (this.#decoder.partial) this.#trickle.partialRead(chunk.length);
    } catch (err) {
      this.#die(
        err instanceof ProtocolError ? err : new ProtocolError(GoawayCode.INTERNAL_ERROR, String(err)),
      );
    }
    if (this.#frameSeen) {
      this.#frameSeen = false;
      this.lastFrameAt = Date.now();
    }
  }

  onFrame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    this.#frameSeen = true;
    switch (type) {
      case FrameType.REQUEST:
        if (this.#state === State.Handshake) break;
        this.#onRequest(flags, streamId, buf, start, end);
        return;
      case FrameType.MESSAGE:
        this.#onMessage(streamId, buf.subarray(start, end));
        return;
      case FrameType.END:
        this.#stream(streamId, 'END')?.input?.end();
        return;
      case FrameType.CANCEL:
        this.#onCancel(streamId, readCancel(buf, start, end));
        return;
      case FrameType.WINDOW:
        this.#stream(streamId, 'WINDOW')?.grant(readWindow(buf, start, end));
        return;
      case FrameType.HELLO:
        if (this.#state !== State.Handshake) throw protocolError('a second HELLO');
        this.#onHello(buf, start, end);
        return;
      case FrameType.PING:
        if (this.#state === State.Handshake) break;
        this.writer.ping(FrameType.PONG, buf.subarray(start, end));
        return;
      case FrameType.PONG:
      case FrameType.GOAWAY:
        // Any frame proves liveness; a client's GOAWAY only says it sends no new calls.
        if (this.#state === State.Handshake) break;
        return;
    }
    if (this.#state === State.Handshake) throw protocolError(`expected HELLO, got ${frameTypeName(type)}`);
    throw protocolError(`unexpected ${frameTypeName(type)} frame from a client`);
  }

  #onHello(buf: Buffer, start: number, end: number): void {
    const hello = readHello(buf, start, end);
    if (hello.version !== PROTOCOL_VERSION) {
      throw new ProtocolError(
        GoawayCode.UNSUPPORTED_VERSION,
        `protocol version ${hello.version} is not supported (this server speaks ${PROTOCOL_VERSION})`,
      );
    }
    const own = this.#config.settings;
    const peer = hello.settings;
    this.peerMaxMessageBytes = peer.maxMessageBytes ?? own.maxMessageBytes;
    this.peerMaxMetadataBytes = peer.maxMetadataBytes ?? own.maxMetadataBytes;
    this.peerWindowBytes = peer.initialWindowBytes ?? own.initialWindowBytes;
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#decoder.maxPayloadBytes = framePayloadLimit(own.maxMessageBytes, own.maxMetadataBytes);
    this.#state = State.Open;
    this.writer.hello(own);
    this.#keepalive.start();
    this.#idle.start();
  }

  #onRequest(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0 || id <= this.#lastStreamId) {
      throw protocolError(
        `REQUEST on stream ${id}, which is not above the last stream ${this.#lastStreamId}`,
      );
    }
    this.#lastStreamId = id;
    const head = readRequestHead(this.#methods, flags, buf, start, end);
    if (this.#state !== State.Open) {
      this.#refuse(id, Status.UNAVAILABLE, 'the server is shutting down');
      return;
    }
    const settings = this.#config.settings;
    if (this.#calls.size >= settings.maxConcurrentStreams) {
      const limit = settings.maxConcurrentStreams;
      this.#refuse(id, Status.RESOURCE_EXHAUSTED, `too many concurrent calls (limit ${limit})`);
      // The client was told the limit in our HELLO: a stream over it is abandoned work.
      this.#abandoned.spend(`streams opened over the limit of ${limit}`);
      return;
    }
    const request = readRequestBody(head, settings);
    if ('refused' in request) {
      this.#refuse(id, request.refused.code, request.refused.message);
      return;
    }
    const { hosted, metadata, messageBytes } = request;
    const method = hosted.descriptor;
    const ctx = new ServerCallContext({
      method,
      metadata,
      deadline: head.timeoutMs === NO_TIMEOUT ? Infinity : Date.now() + head.timeoutMs,
      transport: 'native',
      peer: this.peer,
      identity: this.identity,
    });
    const call = new ServerCall(this, id, ctx, method);
    this.#calls.set(id, call);
    call.start(hosted, method.requestStream ? call.input : request.input, messageBytes);
  }

  #onMessage(id: number, payload: Buffer): void {
    const call = this.#stream(id, 'MESSAGE');
    if (!call) return;
    if (!call.input) throw protocolError(`MESSAGE on stream ${id}, whose method takes one request`);
    const limit = this.#config.settings.maxMessageBytes;
    if (payload.length > limit) {
      call.abort(new StatusError(Status.RESOURCE_EXHAUSTED, requestTooLarge(payload.length, limit)), true);
      return;
    }
    let message: unknown;
    try {
      message = call.ctx.method.input.decode(payload);
    } catch (err) {
      call.abort(StatusError.from(err, Status.INVALID_ARGUMENT), true);
      return;
    }
    if (!call.receive(message, payload.length)) {
      throw new ProtocolError(GoawayCode.FLOW_CONTROL_ERROR, `stream ${id} sent a MESSAGE without credit`);
    }
  }

  #onCancel(id: number, code: number): void {
    const call = this.#stream(id, 'CANCEL');
    if (!call) return;
    const reason =
      code === Status.DEADLINE_EXCEEDED
        ? new StatusError(Status.DEADLINE_EXCEEDED, 'the client gave up: deadline exceeded')
        : new StatusError(Status.CANCELLED, 'call cancelled by the client');
    this.#cancelling = true;
    try {
      call.abort(reason, false);
    } finally {
      this.#cancelling = false;
    }
    this.#abandoned.spend('calls cancelled while running');
  }

  /** The call on a stream; undefined for one already finished, a protocol error for one never opened. */
  #stream(id: number, frame: string): ServerCall | undefined {
    const call = this.#calls.get(id);
    if (call) return call;
    if (this.#state === State.Handshake) throw protocolError(`expected HELLO, got ${frame}`);
    if (id === 0 || id > this.#lastStreamId)
      throw protocolError(`${frame} on stream ${id}, which was never opened`);
    return undefined;
  }

  /** Answers a call that will not run with its status, in one STATUS frame. */
  #refuse(id: number, code: number, message: string): void {
    this.writer.status(id, code, message, undefined, undefined, undefined, undefined);
  }

  /** A connection-level error: GOAWAY with its code, cancel the calls, close. */
  #die(err: ProtocolError): void {
    if (this.#state === State.Closed) return;
    this.#decoder.stop();
    this.writer.goaway(this.#lastStreamId, err.code, err.message);
    this.#cancelCalls(new StatusError(Status.UNAVAILABLE, `connection closed: ${err.toString()}`));
    this.#end();
  }

  /** Flushes what is pending and half-closes; the socket is destroyed if the peer lingers. */
  #end(): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.writer.flush();
    this.socket.end();
    setTimeout(() => this.#destroy(), LINGER_MS).unref();
  }

  #destroy(): void {
    this.#state = State.Closed;
    this.socket.destroy();
  }

  #cancelCalls(reason: StatusError): void {
    for (const call of this.#calls.values()) call.abort(reason, false);
  }

  #onClose(): void {
    this.#state = State.Closed;
    this.#decoder.stop();
    this.#keepalive.stop();
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#idle.stop();
    this.writer.close();
    this.#cancelCalls(new StatusError(Status.CANCELLED, 'the client disconnected'));
  }
}
