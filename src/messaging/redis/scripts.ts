/**
 * The Lua scripts of the Redis broker. KEYS[1] is always the topic's stream and KEYS[2], where
 * there is one, the group's delayed set (the id's dedupe key for PUBLISH_ONCE). Entries waiting
 * for a retry stay in the group's pending list (so nothing is lost while they wait), owned by
 * the PARKED_CONSUMER and scored by due time in the delayed set; claiming one back is one
 * atomic step. Numbers go to Redis through string.format('%d') so large millisecond values are
 * never written in exponent form.
 */
import { LuaScript, NOW_MS, PENDING_ENTRY } from './lua.ts';

/** Lua: XADD with an optional approximate MAXLEN; `fields` is a Lua list. */
const APPEND = `local function append(stream, max_len, fields)
  local args = {stream}
  if max_len ~= '0' then
    args[#args + 1] = 'MAXLEN'; args[#args + 1] = '~'; args[#args + 1] = max_len
  end
  args[#args + 1] = '*'
  for _, f in ipairs(fields) do args[#args + 1] = f end
  return redis.call('XADD', unpack(args))
end
`;

/**
 * Publish with dedupe. KEYS[2] is the id's dedupe key. ARGV: window ms, max len ('0': none),
 * then the entry's fields. Returns {entry id, 1 when it was a duplicate}.
 */
export const PUBLISH_ONCE = new LuaScript(
  'publish-once',
  `${APPEND}
local existing = redis.call('GET', KEYS[2])
if existing then return {existing, 1} end
local position = append(KEYS[1], ARGV[2], {unpack(ARGV, 3)})
redis.call('SET', KEYS[2], position, 'PX', ARGV[1])
return {position, 0}
`,
);

/**
 * Delay an entry the caller owns. ARGV: group, owner, parked consumer, delay ms, entry id.
 * Returns 1, or 0 when the caller no longer owns it (another member claimed it).
 */
export const DELAY = new LuaScript(
  'delay',
  `${NOW_MS}${PENDING_ENTRY}
local p = pending_entry(KEYS[1], ARGV[1], ARGV[5])
if not p or p[2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[5], 'JUSTID')
redis.call('ZADD', KEYS[2], string.format('%d', now_ms() + tonumber(ARGV[4])), ARGV[5])
return 1
`,
);

/**
 * Deliver again to the caller, counting one more delivery. ARGV: group, owner, '1' to return
 * the entry's fields, then entry ids. Returns {id, count[, fields]} per id the caller still
 * owns; count is -1 when the entry was deleted from the stream (trimmed).
 */
export const REDELIVER = new LuaScript(
  'redeliver',
  `${PENDING_ENTRY}
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local p = pending_entry(KEYS[1], ARGV[1], id)
  if p and p[2] == ARGV[2] then
    local count = p[4] + 1
    if ARGV[3] == '1' then
      local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id)
      if c[1] then out[#out + 1] = {id, count, c[1][2]} else out[#out + 1] = {id, -1} end
    else
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', count, 'JUSTID')
      out[#out + 1] = {id, count}
    end
  end
end
return out
`,
);

/**
 * Dead-letter: append to KEYS[3] and ack, in one step. ARGV: group, owner ('' when the caller
 * just claimed it), max len, entry id, then the dead letter's fields. Returns 1, or 0 when the
 * caller no longer owns the entry.
 */
export const DEAD_LETTER = new LuaScript(
  'dead-letter',
  `${APPEND}${PENDING_ENTRY}
if ARGV[2] ~= '' then
  local p = pending_entry(KEYS[1], ARGV[1], ARGV[4])
  if not p or p[2] ~= ARGV[2] then return 0 end
end
append(KEYS[3], ARGV[3], {unpack(ARGV, 5)})
redis.call('XACK', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[4])
return 1
`,
);

/**
 * Claim entries whose delay is over. ARGV: group, claimer, max count. Returns
 * {entries deleted from the stream meanwhile, {{id, count, fields}, …}}.
 */
export const CLAIM_DUE = new LuaScript(
  'claim-due',
  `${NOW_MS}${PENDING_ENTRY}
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', now_ms()), 'LIMIT', 0, ARGV[3])
local out, lost = {}, 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  local p = pending_entry(KEYS[1], ARGV[1], id)
  if p then
    local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id)
    if c[1] then out[#out + 1] = {id, p[4] + 1, c[1][2]} else lost = lost + 1 end
  end
end
return {lost, out}
`,
);

/**
 * Claim entries of other consumers idle for at least a minimum (their consumer died or hangs),
 * skipping those waiting in the delayed set. ARGV: group, claimer, parked consumer, min idle ms,
 * cursor ('-' or '(<id>'), max count. Returns {next cursor, entries deleted from the stream,
 * {{id, count, fields}, …} claimed, {id, …} the claimer's own idle entries (not claimed)}.
 */
export const CLAIM_STUCK = new LuaScript(
  'claim-stuck',
  `local pend = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[4], ARGV[5], '+', ARGV[6])
local claimed, own, lost = {}, {}, 0
for _, p in ipairs(pend) do
  local id, owner = p[1], p[2]
  if owner == ARGV[2] then
    own[#own + 1] = id
  elseif owner ~= ARGV[3] or not redis.call('ZSCORE', KEYS[2], id) then
    local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4], id)
    if c[1] then claimed[#claimed + 1] = {id, p[4] + 1, c[1][2]} else lost = lost + 1 end
  end
end
local cursor = '-'
if #pend == tonumber(ARGV[6]) then cursor = '(' .. pend[#pend][1] end
return {cursor, lost, claimed, own}
`,
);

/**
 * A leaving member hands all it holds to the delayed set, due now, and leaves the group.
 * ARGV: group, leaving consumer, parked consumer, then the ids its handlers saw. An entry no
 * handler saw does not count as a delivery. Returns the number handed over.
 */
export const RELEASE = new LuaScript(
  'release',
  `${NOW_MS}
local seen = {}
for i = 4, #ARGV do seen[ARGV[i]] = true end
local now = string.format('%d', now_ms())
local moved = 0
for _ = 1, 1000 do
  local pend = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 100, ARGV[2])
  if #pend == 0 then break end
  for _, p in ipairs(pend) do
    local count = p[4]
    if not seen[p[1]] and count > 0 then count = count - 1 end
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, p[1], 'RETRYCOUNT', count, 'JUSTID')
    redis.call('ZADD', KEYS[2], now, p[1])
    moved = moved + 1
  end
end
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return moved
`,
);

/**
 * How many entries the group never read were trimmed: when the stream's first entry is past
 * the group's last delivered id, the entries added since (lag) that are no longer there.
 * ARGV: group. Returns {lost, first entry id}.
 */
export const TRIMMED_UNREAD = new LuaScript(
  'trimmed-unread',
  `local function before(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  if tonumber(am) ~= tonumber(bm) then return tonumber(am) < tonumber(bm) end
  return tonumber(as) < tonumber(bs)
end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if not first then return {0, ''} end
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  if info['name'] == ARGV[1] then
    local lag = info['lag']
    if lag and before(info['last-delivered-id'], first[1]) then
      local lost = lag - redis.call('XLEN', KEYS[1])
      if lost > 0 then return {lost, first[1]} end
    end
  end
end
return {0, first[1]}
`,
);
