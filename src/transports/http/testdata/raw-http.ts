/**
 * Test helpers that speak HTTP/1.1 by hand over node:net, for what a well-behaved client never
 * sends: slow, truncated and oversized requests, and abrupt disconnects.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection. */
  closed: boolean;
}

/** Connects to 127.0.0.1:port. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Writes `parts` (with `pauseMs` between them) and reads until the server closes the
 * connection or `waitMs` passes; parses the first response found.
 */
export async function exchange(
  port: number,
  parts: (string | Buffer)[],
  options: { pauseMs?: number; waitMs?: number; destroyAfterWrite?: boolean } = {},
): Promise<RawResponse> {
  const socket = await connect(port);
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.once('close', () => {
    closed = true;
  });
  for (const part of parts) {
    if (socket.destroyed) break;
    socket.write(part);
    if (options.pauseMs) await sleep(options.pauseMs);
  }
  if (options.destroyAfterWrite) socket.destroy();
  await Promise.race([ended, sleep(options.waitMs ?? 2000)]);
  socket.destroy();
  return { ...parse(Buffer.concat(chunks).toString('latin1')), closed };
}

/** The request line and headers of a request, with a Host header. */
export function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function parse(text: string): Omit<RawResponse, 'closed'> {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return { status: 0, headers: {}, body: text };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(end + 4);
  const length = headers['content-length'];
  if (length !== undefined) body = body.slice(0, Number(length));
  else if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status: Number(statusLine?.split(' ')[1] ?? 0), headers, body };
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol === -1) return out;
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
