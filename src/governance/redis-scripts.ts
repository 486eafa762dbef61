/**
 * The Lua scripts of the Redis counters. Each runs atomically on the server, so N replicas checking and counting
 * the same key can never both take the last request of a window or the last slot. All keys of one limited key
 * share a `{hash tag}`, so the scripts also run on Redis Cluster.
 *
 * Windows are per-second buckets in a hash (field: epoch second, value: count), like the in-process RollingWindow:
 * a bucket counts while it is younger than 60 s, memory stays at most 61 fields whatever the rate, and a bucket
 * expires at (second + 60) × 1000 ms. Slots are a sorted set of tickets scored by the epoch ms their lease ends.
 */

/**
 * Lua of the admit script: the window of a bucket hash at `sec` (its total, its buckets unsorted, its newest
 * second), dropping buckets that left it. Sorting is left to a refusal, the only case that needs the order.
 */
const WINDOW_LUA = `
local function window(key, sec)
  local flat = redis.call('HGETALL', key)
  local total, buckets, stale, newest = 0, {}, {}, nil
  for i = 1, #flat, 2 do
    local s = tonumber(flat[i])
    if s <= sec - 60 then
      stale[#stale + 1] = flat[i]
    else
      local n = tonumber(flat[i + 1])
      total = total + n
      buckets[#buckets + 1] = {s, n}
      if newest == nil or s > newest then newest = s end
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  return total, buckets, newest
end
-- ms until the oldest buckets expire enough for the total to drop below limit (0: it is below)
local function msUntilBelow(total, buckets, limit, now)
  if total < limit then return 0 end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local left = total
  for _, b in ipairs(buckets) do
    left = left - b[2]
    if left < limit then return math.max(0, (b[1] + 60) * 1000 - now) end
  end
  return 60000
end
-- ms until every counted bucket has expired (the window is back to its full limit)
local function msUntilEmpty(newest, now)
  if newest == nil then return 0 end
  return math.max(0, (newest + 60) * 1000 - now)
end
`;

/**
 * admit. KEYS: requests hash, tokens hash, slots zset, budget string. ARGV: now ms, rpm, tpm, max_parallel,
 * budget USD (each 0 when the key has no such limit), ticket, lease end ms, budget period end ms (0: none).
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

local rUsed, rBuckets, rNewest, tUsed, tBuckets, tNewest = 0, {}, nil, 0, {}, nil
if rpm > 0 then rUsed, rBuckets, rNewest = window(KEYS[1], sec) end
if tpm > 0 then tUsed, tBuckets, tNewest = window(KEYS[2], sec) end
local function refused(limit, retryMs)
  return {0, limit, retryMs, rUsed, msUntilEmpty(rNewest, now), tUsed, msUntilEmpty(tNewest, now)}
end

if budget > 0 then
  local spent = redis.call('GET', KEYS[4])
  if not spent then return {-1, 4, 0, 0, 0, 0, 0} end
  if tonumber(spent) >= budget then
    return refused(4, periodEnd > 0 and math.max(0, periodEnd - now) or -1)
  end
end
-- the same order as the memory counters: budget, rpm, tpm, max_parallel
if rpm > 0 and rUsed >= rpm then return refused(1, msUntilBelow(rUsed, rBuckets, rpm, now)) end
if tpm > 0 and tUsed >= tpm then return refused(2, msUntilBelow(tUsed, tBuckets, tpm, now)) end
if parallel > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= parallel then return refused(3, 1000) end
end

if rpm > 0 then
  redis.call('HINCRBY', KEYS[1], sec, 1)
  redis.call('EXPIRE', KEYS[1], 61)
  rUsed = rUsed + 1
  rNewest = sec
end
if parallel > 0 then
  redis.call('ZADD', KEYS[3], leaseEnd, ticket)
  -- the set lives as long as its longest lease, so an idle key leaves nothing behind
  if redis.call('PTTL', KEYS[3]) < leaseEnd - now then redis.call('PEXPIRE', KEYS[3], leaseEnd - now) end
end
return {1, 0, 0, rUsed, msUntilEmpty(rNewest, now), tUsed, msUntilEmpty(tNewest, now)}
`;

/**
 * settle. KEYS: tokens hash, slots zset, budget string. ARGV: now ms, ticket ('' when no slot was taken), tokens
 * (0 when the key has no tpm), cost USD (0 when the key has no budget). A budget key that is missing is left
 * missing: Redis lost it (a restart), and the next admit reseeds it from the spend log, which has this request;
 * adding to a fresh key here would hide the loss and skip the reseed.
 */
export const SETTLE_LUA = `
local now, ticket = tonumber(ARGV[1]), ARGV[2]
local tokens, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
if ticket ~= '' then redis.call('ZREM', KEYS[2], ticket) end
if tokens > 0 then
  redis.call('HINCRBY', KEYS[1], math.floor(now / 1000), tokens)
  redis.call('EXPIRE', KEYS[1], 61)
end
if cost > 0 and redis.call('EXISTS', KEYS[3]) == 1 then redis.call('INCRBYFLOAT', KEYS[3], ARGV[4]) end
return 1
`;
