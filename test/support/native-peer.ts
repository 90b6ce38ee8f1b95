/**
 * Helpers for the native transport's tests: an Echo server, and a raw peer that speaks frames
 * over a plain socket so tests can send what a well-behaved client never would.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ServiceDescriptor } from '../../src/contract/descriptors.ts';
import { createClient } from '../../src/core/client.ts';
import { ServiceHost } from '../../src/core/host.ts';
import type { CallOptions } from '../../src/core/transport.ts';
import type { Implementation, Message, UntypedService } from '../../src/core/types.ts';
import { NativeClientTransport } from '../../src/transports/native/client.ts';
import { FrameType } from '../../src/transports/native/frame.ts';
import { FrameDecoder } from '../../src/transports/native/frame-decoder.ts';
import { FrameWriter } from '../../src/transports/native/frame-writer.ts';
import type { NativeClientOptions, NativeServerOptions } from '../../src/transports/native/options.ts';
import { NativeServer } from '../../src/transports/native/server.ts';
import { echoContract, echoImplementation } from '../fixtures/echo-service.ts';

export const echoService: ServiceDescriptor = echoContract().service('sb.test.Echo');

export function method(name: string) {
  const found = echoService.method(name);
  if (!found) throw new Error(`no method ${name}`);
  return found;
}

export interface EchoServer {
  server: NativeServer;
  port: number;
  target: string;
  close(): Promise<void>;
}

/** An Echo server on 127.0.0.1 (port 0), with `implementation` overriding the fixture's handlers. */
export async function startServer(
  options: NativeServerOptions = {},
  implementation: Record<string, unknown> = {},
): Promise<EchoServer> {
  const handlers = { ...echoImplementation, ...implementation } as unknown as Implementation<UntypedService>;
  const host = new ServiceHost().add(echoService, handlers);
  const server = new NativeServer(host, options);
  const address = await server.listen();
  return { server, port: address.port, target: `127.0.0.1:${address.port}`, close: () => server.close(0) };
}

/** The Echo stub, typed loosely enough for tests to send odd requests. */
export interface EchoStub {
  unary(request: Message, options?: CallOptions): Promise<Message>;
  default(request: Message, options?: CallOptions): Promise<Message>;
  serverStream(request: Message, options?: CallOptions): AsyncIterable<Message>;
  clientStream(requests: Iterable<Message> | AsyncIterable<Message>, options?: CallOptions): Promise<Message>;
  bidi(requests: Iterable<Message> | AsyncIterable<Message>, options?: CallOptions): AsyncIterable<Message>;
}

export interface EchoClient {
  client: EchoStub;
  transport: NativeClientTransport;
  close(): Promise<void>;
}

export function connectClient(target: string, options: Partial<NativeClientOptions> = {}): EchoClient {
  const transport = new NativeClientTransport({ target, ...options });
  const client = createClient(echoService, transport) as unknown as EchoStub;
  return { client, transport, close: () => transport.close() };
}

/** One decoded frame, its payload copied. */
export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A client that speaks raw frames, for bad input and protocol-level assertions. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  readonly #decoder: FrameDecoder;
  #waiters: (() => void)[] = [];
  #ended = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#decoder = new FrameDecoder(
      {
        onFrame: (type, flags, streamId, buf, start, end) => {
          this.frames.push({ type, flags, streamId, payload: Buffer.from(buf.subarray(start, end)) });
          this.#wake();
        },
      },
      64 * 1024 * 1024,
    );
    socket.on('data', (chunk: Buffer) => this.#decoder.push(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#ended = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPeer(socket);
  }

  /** Sends HELLO and waits for the server's. */
  async handshake(settings: Partial<Parameters<FrameWriter['hello']>[0]> = {}): Promise<Frame> {
    this.send((w) =>
      w.hello({
        maxMessageBytes: 4 << 20,
        maxConcurrentStreams: 0,
        initialWindowBytes: 1 << 20,
        maxMetadataBytes: 64 << 10,
        ...settings,
      }),
    );
    return this.next((f) => f.type === FrameType.HELLO);
  }

  send(build: (writer: FrameWriter) => void): void {
    const writer = new FrameWriter();
    build(writer);
    this.socket.write(writer.take());
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The first frame (received or to come) matching `match`, removed from the list. */
  async next(match: (frame: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) return this.frames.splice(index, 1)[0]!;
      if (this.#ended) throw new Error('the connection closed before the expected frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until true or `timeoutMs` passes; returns its last value. */
export async function eventually(condition: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** Runs `body` against a fresh server and a well-behaved client, closing both afterwards. */
export async function withServer(
  options: NativeServerOptions,
  implementation: Record<string, unknown>,
  body: (server: EchoServer, good: EchoClient) => Promise<void>,
): Promise<void> {
  const server = await startServer(options, implementation);
  const good = connectClient(server.target);
  try {
    await body(server, good);
  } finally {
    await good.close();
    await server.close();
  }
}

/** The well-behaved client is answered (whatever another client is doing to the server). */
export async function stillServes(good: EchoClient, text = 'still here'): Promise<void> {
  const response = await good.client.unary({ text });
  assert.equal(response.text, text);
}
