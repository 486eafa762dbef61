/**
 * The Lua scripts of the Redis counters. Each runs atomically on the server, so N replicas checking and counting
 * the same key can never both take the last request of a window or the last slot. All keys of one limited key
 * share a `{hash tag}`, so the scripts also run on Redis Cluster.
 *
 * Windows are per-second buckets in a hash (field: epoch second, value: count), like the in-process RollingWindow:
 * a bucket counts while it is younger than 60 s and expires at (second + 60) × 1000 ms. The hash also keeps the
 * running total (`sum`), the second the window was last advanced to (`last`) and the newest second counted
 * (`newest`), so a check reads three fields and drops only the buckets that left since the last one (about one a
 * second at most), whatever the rate; only a refusal reads every bucket, for the time until there is room. A
 * window never moves backwards: a replica whose clock lags counts in the newest second seen. Slots are a sorted
 * set of tickets scored by the epoch ms their lease ends.
 */

/** Lua shared by both scripts: a window's state at `sec` and adding to it. */
const WINDOW_LUA = `
-- the window of key advanced to sec: its sum, its second (never earlier than one seen), its newest second
local function advance(key, sec)
  local meta = redis.call('HMGET', key, 'sum', 'last', 'newest')
  local sum, last, newest = tonumber(meta[1]) or 0, tonumber(meta[2]), tonumber(meta[3])
  if last == nil then return {sum = 0, sec = sec, newest = nil, moved = true} end
  if sec <= last then return {sum = sum, sec = last, newest = newest, moved = false} end
  if sec - last >= 60 then
    redis.call('DEL', key)
    return {sum = 0, sec = sec, newest = nil, moved = true}
  end
  for s = last - 59, sec - 60 do
    local n = redis.call('HGET', key, s)
    if n then
      sum = sum - tonumber(n)
      redis.call('HDEL', key, s)
    end
  end
  if newest ~= nil and newest <= sec - 60 then newest = nil end
  return {sum = sum, sec = sec, newest = newest, moved = true}
end
local function add(key, w, amount)
  redis.call('HINCRBY', key, w.sec, amount)
  w.sum = w.sum + amount
  w.newest = w.sec
  redis.call('HSET', key, 'sum', w.sum, 'last', w.sec, 'newest', w.sec)
  -- once a second is enough: an idle window outlives its newest bucket by at least 60 s, then disappears
  if w.moved then redis.call('EXPIRE', key, 62) end
end
-- a window that moved but got nothing added keeps its new total and second
local function save(key, w)
  if w.moved and redis.call('EXISTS', key) == 1 then
    if w.newest == nil then redis.call('HDEL', key, 'newest') end
    redis.call('HSET', key, 'sum', w.sum, 'last', w.sec)
  end
end
-- ms until every counted bucket has expired (the window is back to its full limit)
local function msUntilEmpty(w, now)
  if w.newest == nil or w.sum <= 0 then return 0 end
  return math.max(0, (w.newest + 60) * 1000 - now)
end
-- ms until the oldest buckets expire enough for the total to drop below limit (reads every bucket: refusals only)
local function msUntilBelow(key, w, limit, now)
  local flat = redis.call('HGETALL', key)
  local buckets = {}
  for i = 1, #flat, 2 do
    local s = tonumber(flat[i])
    if s ~= nil and s > w.sec - 60 then buckets[#buckets + 1] = {s, tonumber(flat[i + 1])} end
  end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local left = w.sum
  for _, b in ipairs(buckets) do
    left = left - b[2]
    if left < limit then return math.max(0, (b[1] + 60) * 1000 - now) end
  end
  return 60000
end
-- ends requests: frees their slots (tickets joined by ','), adds their tokens at the second of \`at\` (ms) and their
-- cost to a budget key that exists (a missing one was lost by Redis: the next admit reseeds it from the spend log,
-- which has these requests once the spend writer flushed them; adding to a fresh key would hide the loss)
local function settle(slots, tokensKey, budgetKey, tickets, tokens, cost, at)
  if tickets ~= '' then
    local list = {}
    for ticket in string.gmatch(tickets, '[^,]+') do list[#list + 1] = ticket end
    redis.call('ZREM', slots, unpack(list))
  end
  if tokens > 0 then add(tokensKey, advance(tokensKey, math.floor(at / 1000)), tokens) end
  if tonumber(cost) > 0 and redis.call('EXISTS', budgetKey) == 1 then redis.call('INCRBYFLOAT', budgetKey, cost) end
end
`;

/**
 * admit. KEYS: requests hash, tokens hash, slots zset, budget string. ARGV: now ms, rpm, tpm, max_parallel,
 * budget USD (each 0 when the key has no such limit), ticket, lease end ms, budget period end ms (0: none), then
 * the key's requests that ended since its last check (settled first, so one round trip does both): their tickets
 * joined by ',', tokens, cost USD and the ms they ended at.
 * Returns {verdict, limit, retryMs, requestsUsed, requestsEmptyMs, tokensUsed, tokensEmptyMs}: verdict 1
 * admitted, 0 refused by `limit` (1 rpm, 2 tpm, 3 max_parallel, 4 budget_usd), -1 the budget key is missing (the
 * caller seeds it from the spend log, then calls again). The used counts include this request when admitted.
 */
export const ADMIT_LUA = `${WINDOW_LUA}
local now = tonumber(ARGV[1])
local sec = math.floor(now / 1000)
local rpm, tpm, parallel = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local ticket, leaseEnd, periodEnd = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
settle(KEYS[3], KEYS[2], KEYS[4], ARGV[9], tonumber(ARGV[10]), ARGV[11], tonumber(ARGV[12]))

local empty = {sum = 0, sec = sec, newest = nil, moved = false}
local r, t = empty, empty
if rpm > 0 then r = advance(KEYS[1], sec) end
if tpm > 0 then t = advance(KEYS[2], sec) end
local function refused(limit, retryMs)
  if rpm > 0 then save(KEYS[1], r) end
  if tpm > 0 then save(KEYS[2], t) end
  return {0, limit, retryMs, r.sum, msUntilEmpty(r, now), t.sum, msUntilEmpty(t, now)}
end

if budget > 0 then
  local spent = redis.call('GET', KEYS[4])
  if not spent then return {-1, 4, 0, 0, 0, 0, 0} end
  if tonumber(spent) >= budget then
    return refused(4, periodEnd > 0 and math.max(0, periodEnd - now) or -1)
  end
end
-- the same order as the memory counters: budget, rpm, tpm, max_parallel
if rpm > 0 and r.sum >= rpm then return refused(1, msUntilBelow(KEYS[1], r, rpm, now)) end
if tpm > 0 and t.sum >= tpm then return refused(2, msUntilBelow(KEYS[2], t, tpm, now)) end
if parallel > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= parallel then return refused(3, 1000) end
end

if rpm > 0 then add(KEYS[1], r, 1) end
if tpm > 0 then save(KEYS[2], t) end
if parallel > 0 then
  redis.call('ZADD', KEYS[3], leaseEnd, ticket)
  -- the set lives as long as its longest lease, so an idle key leaves nothing behind
  if redis.call('PTTL', KEYS[3]) < leaseEnd - now then redis.call('PEXPIRE', KEYS[3], leaseEnd - now) end
end
return {1, 0, 0, r.sum, msUntilEmpty(r, now), t.sum, msUntilEmpty(t, now)}
`;

/**
 * settle, for requests that ended when no check of their key came soon after. KEYS: tokens hash, slots zset,
 * budget string. ARGV: tickets joined by ',' ('' when none took a slot), tokens (0 without tpm), cost USD (0
 * without a budget), the ms they ended at.
 */
export const SETTLE_LUA = `${WINDOW_LUA}
settle(KEYS[2], KEYS[1], KEYS[3], ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]))
return 1
`;
