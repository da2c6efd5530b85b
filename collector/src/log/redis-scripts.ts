/**
 * The Lua scripts of the Redis event log. Each runs atomically on one Redis (one shard), so
 * offsets and epochs are assigned in one place and every instance sees the same ones.
 *
 * Keys per channel (P = store.redis.keyPrefix, N = channel name):
 *   P ch:N  hash    epoch, last_offset, last_ts
 *   P s:N   stream  one entry per message, id `<offset>-0`, fields t (ts), d (data JSON),
 *                   k (key, state/entity channels), x ("1" for an entity delete)
 *   P k:N   hash    key -> "<offset> <ts> <data>" (latest message per key, state/entity snapshots)
 *   P d:N   zset    publish id -> offset, for the newest store.publishIdWindow offsets (idempotent publishes)
 *   P channels  set of channel names held by this shard
 *   P expiry    zset    "<channel>\t<key>" -> deadline in ms: entity expiries of this shard (whichever instance accepted them)
 *   P notify    pub/sub channel: one notice per channel per append (format below)
 *
 * Using the offset as the stream id's time part makes "messages after offset X" a plain XRANGE,
 * and keeps the stream's own monotonic-id rule as a second guard against reusing an offset.
 *
 * Notices (one line each, then one line per message; fields separated by tabs; data and the
 * JSON-encoded key never hold a raw tab or newline, since they come from JSON.stringify/cjson):
 *   A inst channel epoch first count last   + lines "offset ts key-json deleted data"
 *   R inst channel epoch first count last from to    (too large to inline: read the range)
 *   N inst channel epoch first count last             (channel created, or given a new epoch)
 */

/**
 * Appends a batch for the channels of one shard.
 * KEYS: per channel meta, stream, latest (3 each), then the channel set, then per channel its
 *       publish-id zset, then the shard's expiry zset.
 * ARGV: inst, notifyChannel, newEpoch, nChannels, inlineMaxBytes, publishIdWindow, maxKeys (0 = no bound),
 *       per channel: name, maxLen (0 = no bound),
 *       per message: channelIndex, ts, key ('' = none), deleted ('1'/'0'), data,
 *                    id ('' = none), expiry ('' = leave, '-' = clear, or a deadline in ms),
 *                    ifExpiry ('' or the deadline an expiry delete requires).
 * Returns per channel: epoch, first, count, last, lastTs; then per message: offset, ts, flag
 * (0 appended, 1 duplicate id: offset is the original, 2 stale expiry: nothing appended).
 * Refuses the whole batch with the error "SG_KEY_LIMIT <channel>" when it would hold more than maxKeys live keys.
 */
export const APPEND_LUA = `
local inst, notify, newEpoch = ARGV[1], ARGV[2], ARGV[3]
local nch, inlineMax, idWindow, maxKeys = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local setKey = KEYS[3 * nch + 1]
local expKey = KEYS[4 * nch + 2]
local names, maxLens, epochs, lasts, lastTs, lines, sizes, starts, usedIds = {}, {}, {}, {}, {}, {}, {}, {}, {}
for c = 1, nch do
  local meta = KEYS[3 * c - 2]
  names[c] = ARGV[6 + 2 * c]
  maxLens[c] = tonumber(ARGV[7 + 2 * c])
  if redis.call('HSETNX', meta, 'epoch', newEpoch) == 1 then
    -- a new epoch starts with no history: drop what a lost meta hash (evicted, deleted) left behind
    redis.call('DEL', KEYS[3 * c - 1], KEYS[3 * c], KEYS[3 * nch + 1 + c])
    redis.call('HSET', meta, 'last_offset', 0, 'last_ts', 0)
    redis.call('SADD', setKey, names[c])
  end
  local m = redis.call('HMGET', meta, 'epoch', 'last_offset', 'last_ts')
  epochs[c] = m[1]
  lasts[c] = tonumber(m[2] or '0')
  lastTs[c] = m[3] or '0'
  starts[c] = lasts[c] + 1
  lines[c] = {}
  sizes[c] = 0
end
-- live keys per channel (channels.maxKeysPerChannel), counted before anything is written so that a
-- refused batch stores nothing: the keys this batch adds that the latest-by-key hash does not hold
if maxKeys > 0 then
  local seen, adds = {}, {}
  local j = 8 + 2 * nch
  while j <= #ARGV do
    local c = tonumber(ARGV[j])
    local key, del = ARGV[j + 2], ARGV[j + 3]
    if key ~= '' and del ~= '1' then
      local k = c .. '\t' .. key
      if not seen[k] then
        seen[k] = true
        if redis.call('HEXISTS', KEYS[3 * c], key) == 0 then adds[c] = (adds[c] or 0) + 1 end
      end
    end
    j = j + 8
  end
  for c, n in pairs(adds) do
    if redis.call('HLEN', KEYS[3 * c]) + n > maxKeys then
      return redis.error_reply('SG_KEY_LIMIT ' .. names[c])
    end
  end
end
local out = {}
local i = 8 + 2 * nch
while i <= #ARGV do
  local c = tonumber(ARGV[i])
  local ts, key, del, data = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local pid, exp, ifExp = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local idKey = KEYS[3 * nch + 1 + c]
  local member = (exp ~= '' or ifExp ~= '') and (names[c] .. '\\t' .. key) or ''
  -- idempotency: an id in the window answers with its original offset; nothing is appended
  local skip = nil
  if pid ~= '' then
    local o = redis.call('ZSCORE', idKey, pid)
    if o then skip = { tonumber(o), 1 } end
  end
  if not skip and ifExp ~= '' then
    local cur = redis.call('ZSCORE', expKey, member)
    if not cur or tonumber(cur) ~= tonumber(ifExp) then skip = { 0, 2 } end
  end
  if skip then
    out[#out + 1] = skip[1]
    out[#out + 1] = ts
    out[#out + 1] = skip[2]
  else
    -- keep ts non-decreasing per channel, so time queries can binary-search by offset
    if tonumber(ts) < tonumber(lastTs[c]) then ts = lastTs[c] end
    lastTs[c] = ts
    local off = lasts[c] + 1
    lasts[c] = off
    local stream = KEYS[3 * c - 1]
    local id = string.format('%d-0', off)
    local keyJson = ''
    if key ~= '' then
      keyJson = cjson.encode(key)
      if del == '1' then
        redis.call('XADD', stream, id, 't', ts, 'd', data, 'k', key, 'x', '1')
        redis.call('HDEL', KEYS[3 * c], key)
      else
        redis.call('XADD', stream, id, 't', ts, 'd', data, 'k', key)
        redis.call('HSET', KEYS[3 * c], key, string.format('%d', off) .. ' ' .. ts .. ' ' .. data)
      end
    else
      redis.call('XADD', stream, id, 't', ts, 'd', data)
    end
    if pid ~= '' then
      redis.call('ZADD', idKey, off, pid)
      usedIds[c] = true
    end
    if exp == '-' then
      redis.call('ZREM', expKey, member)
    elseif exp ~= '' then
      redis.call('ZADD', expKey, exp, member)
    end
    out[#out + 1] = off
    out[#out + 1] = ts
    out[#out + 1] = 0
    if sizes[c] <= inlineMax then
      local line = string.format('%d', off) .. '\\t' .. ts .. '\\t' .. keyJson .. '\\t' .. del .. '\\t' .. data
      sizes[c] = sizes[c] + #line
      lines[c][#lines[c] + 1] = line
    end
  end
  i = i + 8
end
local head = {}
for c = 1, nch do
  local meta, stream = KEYS[3 * c - 2], KEYS[3 * c - 1]
  redis.call('HSET', meta, 'last_offset', lasts[c], 'last_ts', lastTs[c])
  if usedIds[c] then
    redis.call('ZREMRANGEBYSCORE', KEYS[3 * nch + 1 + c], '-inf', lasts[c] - idWindow)
  end
  if maxLens[c] > 0 then
    -- approximate trimming is cheap (whole nodes); enforceRetention trims exactly
    redis.call('XTRIM', stream, 'MAXLEN', '~', maxLens[c])
  end
  local count = redis.call('XLEN', stream)
  local first = lasts[c] + 1
  local f = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
  if f then first = tonumber(string.match(f[1], '^(%d+)')) end
  local common = inst .. '\\t' .. names[c] .. '\\t' .. epochs[c] .. '\\t' .. first .. '\\t' .. count .. '\\t' .. lasts[c]
  if starts[c] <= lasts[c] then
    if sizes[c] <= inlineMax then
      redis.call('PUBLISH', notify, 'A\\t' .. common .. '\\n' .. table.concat(lines[c], '\\n'))
    else
      redis.call('PUBLISH', notify, 'R\\t' .. common .. '\\t' .. starts[c] .. '\\t' .. lasts[c])
    end
  end
  head[#head + 1] = epochs[c]
  head[#head + 1] = first
  head[#head + 1] = count
  head[#head + 1] = lasts[c]
  head[#head + 1] = lastTs[c]
end
for j = 1, #out do head[#head + 1] = out[j] end
return head
`;

/**
 * Returns a channel's metadata, creating the channel with a fresh epoch if it does not exist
 * (HSETNX: when several instances race, one epoch wins and all of them read it back).
 * With maxChannels > 0 a new channel is refused when the shard's channel set is that large: the
 * check and the creation are one script, so concurrent creators cannot pass the limit.
 * KEYS: meta, stream, channel set, latest, publish ids. ARGV: name, newEpoch, inst, notifyChannel, maxChannels.
 * Returns epoch, first, count, last, lastTs, created (1/0, or -1: refused by maxChannels).
 */
export const ENSURE_LUA = `
local meta, stream, setKey = KEYS[1], KEYS[2], KEYS[3]
local created = 0
local maxChannels = tonumber(ARGV[5] or '0')
if maxChannels > 0 and redis.call('EXISTS', meta) == 0 and redis.call('SCARD', setKey) >= maxChannels then
  return { '', 0, 0, 0, '0', -1 }
end
if redis.call('HSETNX', meta, 'epoch', ARGV[2]) == 1 then
  redis.call('DEL', stream, KEYS[4], KEYS[5])
  redis.call('HSET', meta, 'last_offset', 0, 'last_ts', 0)
  redis.call('SADD', setKey, ARGV[1])
  created = 1
end
local m = redis.call('HMGET', meta, 'epoch', 'last_offset', 'last_ts')
local last = tonumber(m[2] or '0')
local count = redis.call('XLEN', stream)
local first = last + 1
local f = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
if f then first = tonumber(string.match(f[1], '^(%d+)')) end
if created == 1 then
  redis.call('PUBLISH', ARGV[4], 'N\\t' .. ARGV[3] .. '\\t' .. ARGV[1] .. '\\t' .. m[1] .. '\\t1\\t0\\t0')
end
return { m[1], first, count, last, m[3] or '0', created }
`;

/**
 * Reads a range. Offsets are contiguous in the stream (only the head is ever trimmed) and ts is
 * non-decreasing, so the time bounds are found by binary search over offsets: O(log n) lookups.
 * KEYS: stream. ARGV: after, from ('' = none), to ('' = none), limit, tail ('1'/'0').
 * Returns XRANGE-shaped entries, in offset order asc (or desc when tail).
 */
export const READ_LUA = `
local s = KEYS[1]
local after, from, to = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local limit, tail = tonumber(ARGV[4]), ARGV[5] == '1'
local function off(id) return tonumber(string.match(id, '^(%d+)')) end
local function tsAt(o)
  local e = redis.call('XRANGE', s, string.format('%d-0', o), '+', 'COUNT', 1)[1]
  local f = e[2]
  for j = 1, #f, 2 do if f[j] == 't' then return tonumber(f[j + 1]) end end
  return 0
end
local fe = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1]
if not fe then return {} end
local le = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)[1]
local lo = math.max(after + 1, off(fe[1]))
local hi = off(le[1])
if from ~= '' then
  local t, a, b = tonumber(from), lo, hi + 1
  while a < b do
    local m = math.floor((a + b) / 2)
    if tsAt(m) >= t then b = m else a = m + 1 end
  end
  lo = a
end
if to ~= '' then
  local t, a, b = tonumber(to), lo - 1, hi
  while a < b do
    local m = math.floor((a + b + 1) / 2)
    if tsAt(m) <= t then a = m else b = m - 1 end
  end
  hi = a
end
if lo > hi then return {} end
if tail then
  return redis.call('XREVRANGE', s, string.format('%d-0', hi), string.format('%d-0', lo), 'COUNT', limit)
end
return redis.call('XRANGE', s, string.format('%d-0', lo), string.format('%d-0', hi), 'COUNT', limit)
`;

/**
 * Evicts by count and age: everything below max(last - maxMessages + 1, first offset with
 * ts >= cutoffTs). KEYS: meta, stream. ARGV: maxMessages, cutoffTs.
 * Returns evicted, first, count.
 */
export const RETENTION_LUA = `
local meta, s = KEYS[1], KEYS[2]
local maxMessages, cutoffTs = tonumber(ARGV[1]), tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', meta, 'last_offset') or '0')
local fe = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1]
if not fe then return { 0, last + 1, 0 } end
local first = tonumber(string.match(fe[1], '^(%d+)'))
local function tsAt(o)
  local e = redis.call('XRANGE', s, string.format('%d-0', o), '+', 'COUNT', 1)[1]
  local f = e[2]
  for j = 1, #f, 2 do if f[j] == 't' then return tonumber(f[j + 1]) end end
  return 0
end
local a, b = first, last + 1
while a < b do
  local m = math.floor((a + b) / 2)
  if tsAt(m) >= cutoffTs then b = m else a = m + 1 end
end
local cutoff = math.max(last - maxMessages + 1, a)
local evicted = 0
if cutoff > first then
  evicted = redis.call('XTRIM', s, 'MINID', string.format('%d-0', cutoff))
end
local count = redis.call('XLEN', s)
local nf = last + 1
local f = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1]
if f then nf = tonumber(string.match(f[1], '^(%d+)')) end
return { evicted, nf, count }
`;

/**
 * Gives a channel a new epoch if it still has the old one (compare-and-set: when several instances
 * detect the same loss, one renewal wins). Used when Redis went back in time (restored from an
 * older snapshot, failed over to a lagging replica): the offsets it lost would otherwise be given
 * again to different messages in the same epoch. The history it still holds stays, in the new epoch.
 * KEYS: meta, stream. ARGV: oldEpoch, newEpoch, inst, notifyChannel, name.
 * Returns epoch, first, count, last, lastTs, renewed (1/0).
 */
export const RENEW_LUA = `
local meta, stream = KEYS[1], KEYS[2]
local renewed = 0
if redis.call('HGET', meta, 'epoch') == ARGV[1] then
  redis.call('HSET', meta, 'epoch', ARGV[2])
  renewed = 1
end
local m = redis.call('HMGET', meta, 'epoch', 'last_offset', 'last_ts')
local last = tonumber(m[2] or '0')
local count = redis.call('XLEN', stream)
local first = last + 1
local f = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
if f then first = tonumber(string.match(f[1], '^(%d+)')) end
if renewed == 1 then
  redis.call('PUBLISH', ARGV[4], 'N\\t' .. ARGV[3] .. '\\t' .. ARGV[5] .. '\\t' .. m[1] .. '\\t' .. first .. '\\t' .. count .. '\\t' .. last)
end
return { m[1], first, count, last, m[3] or '0', renewed }
`;
