import type net from 'node:net';
import { asUnprocessed, StatusError } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import { MAX_TIMEOUT_MS } from '../../core/deadline.ts';
import type { CallConnection, ClientCall } from './client-call.ts';
import { dial } from './dial.ts';
import {
  FrameType,
  framePayloadLimit,
  frameTypeName,
  GoawayCode,
  goawayCodeName,
  MAX_METHOD_IDS,
  MAX_STREAM_ID,
  NO_TIMEOUT,
  PROTOCOL_VERSION,
} from './frame.ts';
import { FrameDecoder, type FrameHandler } from './frame-decoder.ts';
import { readGoaway, readHello, readStatus, readWindow } from './frame-payloads.ts';
import type { Settings } from './frame-writer.ts';
import { Keepalive, type KeepaliveHost } from './keepalive.ts';
import { metadataBlockBytes, readMetadataBlock } from './metadata-block.ts';
import type { NativeClientTlsOptions } from './options.ts';
import { PayloadReader } from './payload-reader.ts';
import { ProtocolError, protocolError } from './protocol-error.ts';
import { SocketWriter } from './socket-writer.ts';
import { StreamTable } from './stream-table.ts';

export interface ClientConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: NativeClientTlsOptions | undefined;
  readonly settings: Settings;
  readonly connectTimeoutMs: number;
  readonly keepaliveMs: number;
  readonly keepaliveTimeoutMs: number;
}

/** What a connection tells the transport that owns it. */
export interface ConnectionOwner {
  /** The connection takes no new calls (GOAWAY, or closed): later calls need another one. */
  retired(conn: ClientConnection): void;
  /** Calls that never ran on this connection and may run on another. */
  restart(calls: ClientCall[], reason: StatusError): void;
}

enum State {
  Connecting = 0,
  Ready = 1,
  /** GOAWAY received, or stream ids used up: in-flight calls finish, new ones go elsewhere. */
  Draining = 2,
  Closed = 3,
}

/** Before the server's HELLO only a HELLO or a GOAWAY may arrive: both are small. */
const HANDSHAKE_FRAME_BYTES = 8 * 1024;
const LINGER_MS = 1000;

/** GOAWAY codes that say this client broke the protocol: its calls fail INTERNAL, not UNAVAILABLE. */
const PEER_FAULTS = new Set<number>([
  GoawayCode.PROTOCOL_ERROR,
  GoawayCode.FRAME_SIZE_ERROR,
  GoawayCode.UNSUPPORTED_VERSION,
  GoawayCode.FLOW_CONTROL_ERROR,
  GoawayCode.INTERNAL_ERROR,
]);

/** One connection of a NativeClientTransport: handshake, stream ids, method ids, calls in flight. */
export class ClientConnection implements FrameHandler, KeepaliveHost, CallConnection {
  readonly writer: SocketWriter;
  readonly #socket: net.Socket;
  readonly #config: ClientConnectionConfig;
  readonly #owner: ConnectionOwner;
  readonly #decoder: FrameDecoder;
  readonly #keepalive: Keepalive;
  readonly #calls = new StreamTable<ClientCall>();
  readonly #methodIds = new Map<string, number>();
  readonly #closed: Promise<void>;
  #waiting: ClientCall[] = [];
  #state = State.Connecting;
  #nextId = 1;
  #connectTimer: NodeJS.Timeout | undefined;
  /** Why the connection is closing: what its calls fail with. */
  #failure: StatusError | undefined;
  #wasReady = false;
  peerMaxMessageBytes = 0;
  peerMaxMetadataBytes = 0;
  peerWindowBytes = 0;
  #peerMaxStreams = 0;

  constructor(config: ClientConnectionConfig, owner: ConnectionOwner) {
    this.#config = config;
    this.#owner = owner;
    const { socket, readyEvent } = dial(config.host, config.port, config.tls);
    this.#socket = socket;
    this.writer = new SocketWriter(socket);
    this.#decoder = new FrameDecoder(this, HANDSHAKE_FRAME_BYTES);
    this.#keepalive = new Keepalive(this, config.keepaliveMs, config.keepaliveTimeoutMs);
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once(readyEvent, () => this.#onConnect());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => {
      this.#failure ??= new StatusError(Status.UNAVAILABLE, `${this.#target}: ${err.message}`, {
        cause: err,
      });
    });
    socket.on('close', () => this.#onClose());
    if (config.connectTimeoutMs > 0) {
      this.#connectTimer = setTimeout(() => {
        this.#failure ??= new StatusError(
          Status.UNAVAILABLE,
          `${this.#target}: no connection within ${config.connectTimeoutMs} ms`,
        );
        socket.destroy();
      }, config.connectTimeoutMs);
    }
  }

  get windowBytes(): number {
    return this.#config.settings.initialWindowBytes;
  }

  /** Whether new calls may start here. */
  get open(): boolean {
    return this.#state <= State.Ready;
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  get #target(): string {
    return `native ${this.#config.host}:${this.#config.port}`;
  }

  /** Starts `call` now, or once the handshake is done and a stream is free. */
  start(call: ClientCall): void {
    call.conn = this;
    if (this.#calls.size + this.#waiting.length === 0) this.#socket.ref();
    if (this.#state === State.Ready && this.#calls.size < this.#peerMaxStreams) this.#send(call);
    else this.#waiting.push(call);
  }

  writeRequest(call: ClientCall, message: Uint8Array | undefined): void {
    const { method, deadline, metadata } = call.call;
    let methodId = this.#methodIds.get(method.path);
    let path: Buffer | undefined;
    if (methodId === undefined) {
      // The first call of a method binds an id to its path; later calls send only the id.
      methodId = this.#methodIds.size < MAX_METHOD_IDS ? this.#methodIds.size + 1 : 0;
      if (methodId !== 0) this.#methodIds.set(method.path, methodId);
      path = Buffer.from(method.path, 'utf8');
    }
    const timeout =
      deadline === Infinity
        ? NO_TIMEOUT
        : Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(deadline - call.readyAt)));
    this.writer.request(call.id, methodId, path, timeout, metadata, message);
  }

  cancelStream(call: ClientCall, code: Status): void {
    if (this.#calls.get(call.id) !== call) return;
    this.#calls.delete(call.id);
    if (this.#state !== State.Closed) this.writer.cancel(call.id, code);
    this.#streamFreed();
  }

  dequeue(call: ClientCall): void {
    const index = this.#waiting.indexOf(call);
    if (index >= 0) this.#waiting.splice(index, 1);
    this.#maybeUnref();
  }

  /** Fails every call with `reason` and closes (the transport is closing). */
  close(reason: StatusError): Promise<void> {
    this.#failure ??= reason;
    // An idle connection is unref'd; one being closed must keep the process alive until it is
    // closed, or a program whose last step awaits close() ends early (exit code 13).
    this.#socket.ref();
    if (this.#state === State.Connecting) {
      this.#socket.destroy();
    } else if (this.#state !== State.Closed) {
      this.writer.goaway(0, GoawayCode.NO_ERROR, 'the client is closing');
      this.#end();
    }
    this.#failAll(reason);
    return this.#closed;
  }

  sendPing(data: Uint8Array): void {
    this.writer.ping(FrameType.PING, data);
  }

  keepaliveExpired(): void {
    this.#die(
      new ProtocolError(
        GoawayCode.KEEPALIVE_TIMEOUT,
        `no answer to PING within ${this.#config.keepaliveTimeoutMs} ms`,
      ),
      Status.UNAVAILABLE,
    );
  }

  #onConnect(): void {
    this.writer.hello(this.#config.settings);
    this.writer.flush();
  }

  #onData(chunk: Buffer): void {
    this.#keepalive.active = true;
    try {
      this.#decoder.push(chunk);
    } catch (err) {
      const error =
        err instanceof ProtocolError ? err : new ProtocolError(GoawayCode.INTERNAL_ERROR, String(err));
      this.#die(error, Status.INTERNAL);
    }
  }

  onFrame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (this.#state === State.Connecting && type !== FrameType.HELLO && type !== FrameType.GOAWAY) {
      throw protocolError(`expected HELLO, got ${frameTypeName(type)}`);
    }
    switch (type) {
      case FrameType.STATUS:
        this.#onStatus(streamId, flags, buf, start, end);
        return;
      case FrameType.MESSAGE:
        this.#calls.get(streamId)?.onMessage(buf.subarray(start, end));
        return;
      case FrameType.HEADERS: {
        const call = this.#calls.get(streamId);
        if (!call) return;
        const headers = this.#readMetadata(call, buf, start, end);
        if (headers) call.onHeaders(headers);
        return;
      }
      case FrameType.WINDOW:
        this.#calls.get(streamId)?.grant(readWindow(buf, start, end));
        return;
      case FrameType.HELLO:
        this.#onHello(buf, start, end);
        return;
      case FrameType.PING:
        this.writer.ping(FrameType.PONG, buf.subarray(start, end));
        return;
      case FrameType.PONG:
        return;
      case FrameType.GOAWAY:
        this.#onGoaway(buf, start, end);
        return;
    }
    throw protocolError(`unexpected ${frameTypeName(type)} frame from a server`);
  }

  #onHello(buf: Buffer, start: number, end: number): void {
    if (this.#state !== State.Connecting) throw protocolError('a second HELLO');
    const hello = readHello(buf, start, end);
    if (hello.version !== PROTOCOL_VERSION) {
      throw new ProtocolError(
        GoawayCode.UNSUPPORTED_VERSION,
        `the server speaks protocol version ${hello.version}`,
      );
    }
    const own = this.#config.settings;
    const peer = hello.settings;
    this.peerMaxMessageBytes = peer.maxMessageBytes ?? own.maxMessageBytes;
    this.peerMaxMetadataBytes = peer.maxMetadataBytes ?? own.maxMetadataBytes;
    this.peerWindowBytes = peer.initialWindowBytes ?? own.initialWindowBytes;
    this.#peerMaxStreams = peer.maxConcurrentStreams ?? 100;
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#decoder.maxPayloadBytes = framePayloadLimit(own.maxMessageBytes, own.maxMetadataBytes);
    this.#state = State.Ready;
    this.#wasReady = true;
    this.#keepalive.start();
    this.#startWaiting();
  }

  #onStatus(id: number, flags: number, buf: Buffer, start: number, end: number): void {
    const call = this.#calls.get(id);
    if (!call) return;
    this.#calls.delete(id);
    try {
      call.onStatus(readStatus(buf, flags, start, end));
    } catch (err) {
      if (!(err instanceof StatusError)) throw err;
      call.finish(err);
    }
    this.#streamFreed();
  }

  #readMetadata(call: ClientCall, buf: Buffer, start: number, end: number): Metadata | undefined {
    try {
      return readMetadataBlock(new PayloadReader(buf, 'HEADERS', start, end));
    } catch (err) {
      if (!(err instanceof StatusError)) throw err;
      call.cancel(err, Status.CANCELLED);
      return undefined;
    }
  }

  #onGoaway(buf: Buffer, start: number, end: number): void {
    const goaway = readGoaway(buf, start, end);
    const why = `${goawayCodeName(goaway.code)}${goaway.reason ? `: ${goaway.reason}` : ''}`;
    const code = PEER_FAULTS.has(goaway.code) ? Status.INTERNAL : Status.UNAVAILABLE;
    this.#failure ??= new StatusError(code, `${this.#target} went away (${why})`);
    if (this.#state < State.Draining) this.#state = State.Draining;
    this.#owner.retired(this);
    // Calls above the last stream id were never processed: they may run on another connection.
    const refused: ClientCall[] = [];
    for (const [id, call] of this.#calls.entries()) {
      if (id > goaway.lastStreamId) {
        this.#calls.delete(id);
        refused.push(call);
      }
    }
    for (const call of refused) call.detach();
    refused.push(...this.#waiting.splice(0));
    for (const call of refused) call.detach();
    if (refused.length > 0) this.#owner.restart(refused, this.#failure);
    if (this.#calls.size === 0) this.#end();
  }

  #send(call: ClientCall): void {
    const tooLarge = call.oversized(this.peerMaxMessageBytes);
    if (tooLarge) {
      call.finish(tooLarge);
      return;
    }
    const metadataBytes = metadataBlockBytes(call.call.metadata);
    if (metadataBytes > this.peerMaxMetadataBytes) {
      const limit = this.peerMaxMetadataBytes;
      call.finish(
        new StatusError(
          Status.RESOURCE_EXHAUSTED,
          `request metadata of ${metadataBytes} bytes is over the server's limit of ${limit}`,
        ),
      );
      return;
    }
    const id = this.#nextId;
    this.#nextId += 1;
    if (this.#nextId > MAX_STREAM_ID) {
      // Stream ids used up: this connection finishes its calls, the next call opens another.
      this.#state = State.Draining;
      this.#owner.retired(this);
    }
    this.#calls.set(id, call);
    call.attach(this, id);
  }

  #startWaiting(): void {
    while (
      this.#waiting.length > 0 &&
      this.#state === State.Ready &&
      this.#calls.size < this.#peerMaxStreams
    ) {
      const call = this.#waiting.shift()!;
      call.readyAt = Date.now();
      this.#send(call);
    }
    this.#maybeUnref();
  }

  #streamFreed(): void {
    if (this.#waiting.length > 0) this.#startWaiting();
    else this.#maybeUnref();
    if (this.#state === State.Draining && this.#calls.size === 0) this.#end();
  }

  /** An idle connection does not keep the process alive. */
  #maybeUnref(): void {
    if (this.#calls.size + this.#waiting.length === 0) this.#socket.unref();
  }

  #die(err: ProtocolError, code: Status): void {
    if (this.#state === State.Closed) return;
    this.#failure ??= new StatusError(code, `${this.#target}: connection failed (${err.toString()})`);
    this.#decoder.stop();
    if (this.#state !== State.Connecting) this.writer.goaway(0, err.code, err.message);
    this.#end();
    this.#failAll(this.#failure);
  }

  #end(): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#owner.retired(this);
    this.writer.flush();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), LINGER_MS).unref();
  }

  #failAll(reason: StatusError): void {
    const calls = [...this.#calls.values(), ...this.#waiting];
    this.#calls.clear();
    this.#waiting = [];
    for (const call of calls) call.finish(reason);
  }

  #onClose(): void {
    const wasOpen = this.#state !== State.Closed;
    this.#state = State.Closed;
    this.#decoder.stop();
    this.#keepalive.stop();
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    this.writer.close();
    this.#owner.retired(this);
    const reason =
      this.#failure ??
      new StatusError(
        Status.UNAVAILABLE,
        `${this.#target}: the connection closed${wasOpen ? ' unexpectedly' : ''}`,
      );
    const onWire = this.#calls.values();
    this.#calls.clear();
    for (const call of onWire) call.finish(reason);
    // Calls that never reached the wire may try again, unless the server could not be reached at all.
    const waiting = this.#waiting.splice(0);
    for (const call of waiting) call.detach();
    if (this.#wasReady) this.#owner.restart(waiting, reason);
    else for (const call of waiting) call.finish(asUnprocessed(reason));
  }
}
