"""The Lua scripts behind the shared state: each check or update is one round trip, atomic on the server.

Key layout under a prefix ``P`` (default ``vertexlate:``), for a counter named ``N``
(``dep:<deployment id>``, ``key:<sha256 of the key>``, ``team:<id>``, ``user:<id>``):

- ``P r:N:<minute>`` requests and ``P t:N:<minute>`` tokens of one fixed minute window
  (the same windows as engine/proxy/limits.py), expiring two minutes later;
- ``P p:N`` a sorted set of the leases in flight, scored by when each one expires (its
  request timeout), so the leases of a crashed process drop out by themselves;
- ``P cd:N`` exists while a deployment cools down (PX expiry), ``P f:N:<minute>`` its failures;
- ``P lat:N`` a deployment's latency average in seconds, over every process's successful
  calls (an EWMA, latency-based routing only), expiring an hour after its last update.

The minute comes from the Redis server's clock (``TIME``), so processes on machines
with different clocks share the same windows; tests pass their own clock instead.
Keys are built inside the scripts, which a single Redis server (or a replicated one)
allows and Redis Cluster does not.
"""

# Every script that counts in minutes starts with this: ``now`` from ARGV[2], else the Redis server's clock.
NOW = """
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# ARGV: prefix, now ('' = server time), mode, lease id, k, n, then k caller counters (a key, its team)
# and n deployments, each: name, rpm, tpm, parallel, timeout (a limit below 0 means none).
# The caller's counters must all pass: else {-1, i, code} and nothing is counted. Then one deployment
# is picked (mode "first": the first in the given order that passes; "tokens" / "busy" / "latency":
# the fewest tokens this minute / in flight / the lowest shared latency average, unmeasured first)
# and counted together with the caller's counters.
# Returns {i or 0, then per deployment: code, cooldown ms, tokens (busy: in flight; latency: microseconds)}.
# code: 0 free, 1 cooling down, 2 rpm, 3 tpm, 4 parallel.
ACQUIRE = (
    NOW
    + """
local p, mode, lease = ARGV[1], ARGV[3], ARGV[4]
local k, n = tonumber(ARGV[5]), tonumber(ARGV[6])
local minute = math.floor(now / 60)

local function check(b, cooldowns)
  local name = ARGV[b + 1]
  local rpm, tpm, par = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local cd = 0
  if cooldowns then
    cd = redis.call('PTTL', p .. 'cd:' .. name)
    if cd < 0 then cd = 0 end
    if cd > 0 then return 1, cd, 0 end
  end
  if rpm >= 0 and tonumber(redis.call('GET', p .. 'r:' .. name .. ':' .. minute) or '0') >= rpm then
    return 2, 0, 0
  end
  local tokens = 0
  if tpm >= 0 or (cooldowns and mode == 'tokens') then
    tokens = tonumber(redis.call('GET', p .. 't:' .. name .. ':' .. minute) or '0')
    if tpm >= 0 and tokens >= tpm then return 3, 0, tokens end
  end
  if par >= 0 or (cooldowns and mode == 'busy') then
    local pk = p .. 'p:' .. name
    redis.call('ZREMRANGEBYSCORE', pk, '-inf', now)
    local busy = redis.call('ZCARD', pk)
    if par >= 0 and busy >= par then return 4, 0, tokens end
    if mode == 'busy' then tokens = busy end
  end
  if cooldowns and mode == 'latency' then
    tokens = tonumber(redis.call('GET', p .. 'lat:' .. name) or '0') or 0
  end
  return 0, 0, tokens
end

local function count(b, busy)
  local name = ARGV[b + 1]
  local rk = p .. 'r:' .. name .. ':' .. minute
  redis.call('INCR', rk)
  redis.call('EXPIRE', rk, 120)
  if tonumber(ARGV[b + 4]) >= 0 or busy then
    local pk = p .. 'p:' .. name
    local timeout = tonumber(ARGV[b + 5])
    redis.call('ZADD', pk, now + timeout, lease)
    redis.call('EXPIRE', pk, math.ceil(timeout) + 60)
  end
end

for i = 1, k do
  local code = check(6 + (i - 1) * 5, false)
  if code ~= 0 then return {-1, i, code} end
end
local out, best, bestv = {0}, 0, nil
for i = 1, n do
  local code, cd, tokens = check(6 + (k + i - 1) * 5, true)
  out[#out + 1] = code
  out[#out + 1] = cd
  out[#out + 1] = mode == 'latency' and math.floor(tokens * 1000000) or tokens
  if code == 0 and (best == 0 or (mode ~= 'first' and tokens < bestv)) then
    best, bestv = i, tokens
  end
end
for i = 1, k do count(6 + (i - 1) * 5, false) end
if best > 0 then count(6 + (k + best - 1) * 5, mode == 'busy') end
out[1] = best
return out
"""
)

# ARGV: prefix, now ('' = server time), m, then m triples: name, lease id ('' = none), tokens;
# then the latency samples: weight, then pairs: name, seconds (each folded into P lat:N, an EWMA).
FINISH = (
    NOW
    + """
local p = ARGV[1]
local minute = math.floor(now / 60)
local last = 3 + 3 * tonumber(ARGV[3])
for b = 4, last, 3 do
  local name, lease, tokens = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])
  if lease ~= '' then redis.call('ZREM', p .. 'p:' .. name, lease) end
  if tokens > 0 then
    local tk = p .. 't:' .. name .. ':' .. minute
    redis.call('INCRBY', tk, tokens)
    redis.call('EXPIRE', tk, 120)
  end
end
if #ARGV > last then
  local w = tonumber(ARGV[last + 1])
  for b = last + 2, #ARGV, 2 do
    local lk, x = p .. 'lat:' .. ARGV[b], tonumber(ARGV[b + 1])
    local v = tonumber(redis.call('GET', lk) or '')
    if v then x = v + w * (x - v) end
    redis.call('SET', lk, tostring(x), 'EX', 3600)
  end
end
return 0
"""
)

# ARGV: prefix, now ('' = server time), name, always (1: a 429), allowed fails, cooldown ms.
# Counts a failure in the minute; cools down on a 429 or past allowed_fails. Returns the cooldown ms (0: none).
COOL = (
    NOW
    + """
local p = ARGV[1]
local name = ARGV[3]
local fk = p .. 'f:' .. name .. ':' .. math.floor(now / 60)
local fails = redis.call('INCR', fk)
redis.call('EXPIRE', fk, 120)
local ms = tonumber(ARGV[6])
if (ARGV[4] == '1' or fails > tonumber(ARGV[5])) and ms > 0 then
  redis.call('SET', p .. 'cd:' .. name, '1', 'PX', ms)
  return ms
end
return 0
"""
)

# ARGV: prefix, then triples: budget name (kind:id:period), base (the adder's own figure), cost.
# A budget's first shared figure is the adder's (the database's spend plus its unwritten spend);
# every cost is added to it after. The period is part of the name, so a reset starts a new key.
SPEND = """
local p = ARGV[1]
local out = {}
for b = 2, #ARGV, 3 do
  local k = p .. 'sp:' .. ARGV[b]
  if redis.call('EXISTS', k) == 0 then redis.call('SET', k, ARGV[b + 1]) end
  out[#out + 1] = redis.call('INCRBYFLOAT', k, ARGV[b + 2])
  redis.call('EXPIRE', k, 86400)
end
return out
"""
