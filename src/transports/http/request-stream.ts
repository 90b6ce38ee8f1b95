import type { IncomingMessage } from 'node:http';
import type { MessageType } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { LineSplitter } from './line-splitter.ts';
import { isNdjsonType } from './media-types.ts';

/** JSON text to a value; malformed JSON is INVALID_ARGUMENT. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StatusError(Status.INVALID_ARGUMENT, `malformed JSON: ${(err as Error).message}`);
  }
}

/**
 * The messages of a streamed request body read as they arrive: NDJSON, one message per line
 * (blank lines skipped), each at most `maxMessageBytes`.
 */
export async function* ndjsonMessages(
  req: IncomingMessage,
  type: MessageType,
  maxMessageBytes: number,
): AsyncGenerator<Record<string, unknown>> {
  const splitter = new LineSplitter(maxMessageBytes);
  try {
    for await (const chunk of req) {
      for (const line of splitter.push(chunk as Buffer)) {
        if (line.trim() !== '') yield type.fromJson(parseJson(line));
      }
    }
  } catch (err) {
    if (err instanceof StatusError) throw err;
    throw new StatusError(Status.CANCELLED, 'the client went away while streaming requests', { cause: err });
  }
  const last = splitter.end();
  if (last !== undefined && last.trim() !== '') yield type.fromJson(parseJson(last));
}

/**
 * The messages of a request body read whole: NDJSON lines, or for JSON a single message or an
 * array of messages.
 */
export function bufferedMessages(
  body: Buffer,
  contentType: string | undefined,
  type: MessageType,
): unknown[] {
  const text = body.toString('utf8');
  if (isNdjsonType(contentType)) {
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => type.fromJson(parseJson(line)));
  }
  if (text.trim() === '') return [];
  const json = parseJson(text);
  return (Array.isArray(json) ? json : [json]).map((m) => type.fromJson(m));
}

/** Already-read messages as the AsyncIterable a request-streaming handler takes. */
export async function* iterate(messages: readonly unknown[]): AsyncGenerator<unknown> {
  yield* messages;
}
