/**
 * Reading Redis replies (as ioredis' Buffer commands return them) without trusting their shape:
 * a reply that is not what the command promises is an error for the caller, never a crash.
 */

export class UnexpectedReplyError extends Error {
  constructor(what: string) {
    super(`unexpected reply from Redis: ${what}`);
    this.name = 'UnexpectedReplyError';
  }
}

export function asArray(reply: unknown, what: string): unknown[] {
  if (!Array.isArray(reply)) throw new UnexpectedReplyError(`${what} is not an array`);
  return reply;
}

export function asText(reply: unknown, what: string): string {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (typeof reply === 'string') return reply;
  if (typeof reply === 'number') return String(reply);
  throw new UnexpectedReplyError(`${what} is not a string`);
}

export function asNumber(reply: unknown, what: string): number {
  const value = typeof reply === 'number' ? reply : Number(asText(reply, what));
  if (!Number.isFinite(value)) throw new UnexpectedReplyError(`${what} is not a number`);
  return value;
}

/** One stream entry: its id and its field/value list (null when the entry was deleted). */
export interface RawEntry {
  entryId: string;
  fields: Buffer[] | null;
}

/** `[id, [field, value, …]]`, as XRANGE, XREADGROUP and XCLAIM return an entry. */
export function asEntry(reply: unknown): RawEntry {
  const pair = asArray(reply, 'a stream entry');
  const entryId = asText(pair[0], 'an entry id');
  const fields = pair[1];
  if (fields === null || fields === undefined) return { entryId, fields: null };
  const list = asArray(fields, 'entry fields');
  for (let i = 0; i < list.length; i++) {
    if (!Buffer.isBuffer(list[i])) throw new UnexpectedReplyError('entry fields are not bulk strings');
  }
  return { entryId, fields: list as Buffer[] };
}

/** The entries of the one stream an XREADGROUP read (null: it timed out or was unblocked). */
export function readGroupEntries(reply: unknown): RawEntry[] {
  if (reply === null) return [];
  const streams = asArray(reply, 'XREADGROUP');
  const entries: RawEntry[] = [];
  for (const stream of streams) {
    const list = asArray(asArray(stream, 'an XREADGROUP stream')[1], 'XREADGROUP entries');
    for (let i = 0; i < list.length; i++) entries.push(asEntry(list[i]));
  }
  return entries;
}

/** True for Redis' "the group does not exist" error (the stream or the group was deleted). */
export function isNoGroup(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}
