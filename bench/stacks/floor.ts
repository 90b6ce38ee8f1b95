import net from 'node:net';
import { through } from '../gate.ts';
import { greet } from '../greeter.ts';
import type { Caller, ConnectOptions, RunningServer, ServeOptions, Stack } from './stack.ts';

/**
 * The floor of any Node RPC: 4-byte big-endian length + JSON {id, name} → {id, message} over one
 * TCP socket. Both sides batch: every frame produced in one tick goes out in one write.
 */

const MAX_FRAME = 1 << 20;

interface FloorRequest {
  id: number;
  name: string;
}

interface FloorResponse {
  id: number;
  message: string;
}

/** Packs JSON texts into one buffer of length-prefixed frames. */
function encodeFrames(texts: readonly string[]): Buffer {
  let total = 0;
  const lengths = new Array<number>(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const length = Buffer.byteLength(texts[i]!);
    lengths[i] = length;
    total += 4 + length;
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < texts.length; i++) {
    out.writeUInt32BE(lengths[i]!, offset);
    out.write(texts[i]!, offset + 4, 'utf8');
    offset += 4 + lengths[i]!;
  }
  return out;
}

/** Splits a byte stream into frames; returns false (and stops) on an oversized frame. */
class FrameReader {
  #rest: Buffer | undefined;

  constructor(readonly onFrame: (json: string) => void) {}

  push(chunk: Buffer): boolean {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    let offset = 0;
    while (buf.length - offset >= 4) {
      const length = buf.readUInt32BE(offset);
      if (length > MAX_FRAME) return false;
      if (buf.length - offset - 4 < length) break;
      this.onFrame(buf.toString('utf8', offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    this.#rest = offset < buf.length ? buf.subarray(offset) : undefined;
    return true;
  }
}

/** Collects frames until the current tick ends, then writes them all at once. */
class Batcher {
  #texts: string[] = [];
  #scheduled = false;

  constructor(readonly socket: net.Socket) {}

  push(text: string): void {
    this.#texts.push(text);
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flush);
  }

  #flush = (): void => {
    this.#scheduled = false;
    const texts = this.#texts;
    this.#texts = [];
    if (!this.socket.destroyed) this.socket.write(encodeFrames(texts));
  };
}

function serve(options: ServeOptions): Promise<RunningServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const out = new Batcher(socket);
    const reply = (id: number, message: string) =>
      out.push(JSON.stringify({ id, message } satisfies FloorResponse));
    const reader = new FrameReader((json) => {
      let request: FloorRequest;
      try {
        request = JSON.parse(json) as FloorRequest;
      } catch {
        socket.destroy();
        return;
      }
      const message = through(options.gate, greet(request.name));
      if (typeof message === 'string') reply(request.id, message);
      else void message.then((text) => reply(request.id, text));
    });
    socket.on('data', (chunk: Buffer) => {
      if (!reader.push(chunk)) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

async function connect(options: ConnectOptions): Promise<Caller> {
  const socket = net.connect({ host: options.host, port: options.port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const waiting = new Map<number, { resolve: (message: string) => void; reject: (err: Error) => void }>();
  const failAll = (err: Error) => {
    for (const call of waiting.values()) call.reject(err);
    waiting.clear();
  };
  const reader = new FrameReader((json) => {
    const response = JSON.parse(json) as FloorResponse;
    const call = waiting.get(response.id);
    waiting.delete(response.id);
    call?.resolve(response.message);
  });
  socket.on('data', (chunk: Buffer) => {
    if (!reader.push(chunk)) socket.destroy(new Error('oversized frame'));
  });
  socket.on('error', failAll);
  socket.on('close', () => failAll(new Error('connection closed')));
  const out = new Batcher(socket);
  let nextId = 1;
  return {
    sayHello: (name) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        out.push(JSON.stringify({ id, name } satisfies FloorRequest));
      }),
    close: async () => {
      socket.destroy();
    },
  };
}

export const stack: Stack = { serve, connect };
