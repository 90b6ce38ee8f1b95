/**
 * Running a Lua script by its SHA1 (EVALSHA), loading it with EVAL when the server does not
 * know it yet — after a restart, on a new server. Scripts run atomically, which is why the
 * steps that must not be seen half done (dedupe + append, dead-letter + ack, claim + unpark)
 * are scripts.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type ScriptArg = string | Buffer | number;

/** ioredis has these Buffer variants at runtime but leaves them out of its types. */
interface BufferEval {
  evalshaBuffer(...args: ScriptArg[]): Promise<unknown>;
  evalBuffer(...args: ScriptArg[]): Promise<unknown>;
}

export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: Redis, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    // The named commands, not callBuffer: with auto-pipelining ioredis' callBuffer loses the
    // command name (ioredis 5.11).
    const redis = client as unknown as BufferEval;
    try {
      return await redis.evalshaBuffer(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.evalBuffer(this.source, keys.length, ...keys, ...args);
    }
  }
}

/** Lua: the server's clock in ms (TIME), so every member compares due times on one clock. */
export const NOW_MS = `local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** Lua: XPENDING for one entry id: {id, consumer, idle, count} or nil. */
export const PENDING_ENTRY = `local function pending_entry(stream, group, id)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  return p[1]
end
`;
