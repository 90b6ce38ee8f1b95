/** Plain HTTP/1.1 exchanges for tests that must send exactly what they mean (paths as written, odd bodies). */
import http from 'node:http';
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** One request on a fresh connection (no agent pooling), the body sent as given. */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  options: { body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, agent: false, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`${method} ${path}: no answer in time`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A TCP connection to `base` that has sent `head` (and keeps whatever arrives in `received`). */
export async function rawSocket(
  base: string,
  head: string,
): Promise<{ socket: net.Socket; received: () => string }> {
  const url = new URL(base);
  const socket = net.connect({ host: url.hostname, port: Number(url.port) });
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    text += d;
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(head);
  return { socket, received: () => text };
}
