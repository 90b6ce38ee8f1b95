import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBodyAsync } from '../transports/http/body-reader.ts';

/** What every hub API answers with: small JSON helpers and one error type for refusals. */

/** A refusal with an HTTP status and a message the caller can act on. */
export class HubHttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HubHttpError';
    this.status = status;
  }
}

/** Largest request body any hub API accepts. */
export const MAX_HUB_BODY_BYTES = 256 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: message }, headers);
}

/** The body parsed as JSON: 413 when too large, 415 for another content type, 400 when malformed. */
export async function readJson(req: IncomingMessage, limit = MAX_HUB_BODY_BYTES): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new HubHttpError(415, `expected content-type application/json, got ${type}`);
  }
  const declared = req.headers['content-length'];
  let body: Buffer;
  try {
    body = await readBodyAsync(req, limit, declared === undefined ? undefined : Number(declared));
  } catch (err) {
    const status = (err as { code?: number }).code === 8 ? 413 : 400;
    throw new HubHttpError(status, (err as Error).message);
  }
  if (body.length === 0) throw new HubHttpError(400, 'expected a JSON body, got none');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HubHttpError(400, `malformed JSON: ${(err as Error).message}`);
  }
}

/** Parses a Go-style duration ("5s", "250ms", "1m") as Consul writes them; a bare number is seconds. */
export function parseDuration(text: string, where: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match)
    throw new HubHttpError(400, `${where}: ${JSON.stringify(text)} is not a duration like 10s or 250ms`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}
