"""The Lua scripts of the Redis budget store: each runs atomically inside Redis.

Keys of one campaign (the braces keep them in one Redis Cluster slot):
  <prefix>:{<campaign>}               hash total, daily, spent, reserved (all micros)
  <prefix>:{<campaign>}:day:<date>    hash spent, reserved of one UTC day
  <prefix>:{<campaign>}:holds:<date>  hash hold id -> "<micros>:<reserved at, ms>"
Every key a script touches is passed in KEYS. Amounts are Lua numbers (doubles): exact up to
2^53 micros, far above any budget. `tostring` would print 1e15 as "1e+15", so numbers written
back go through string.format("%d").
"""

# KEYS: campaign, day, holds. ARGV: amount, least amount, hold id, now ms, day ttl s.
# Returns the micros reserved (idempotent per hold id), 0 when the budget cannot cover the
# least amount, -1 when the campaign's limits were never loaded.
RESERVE = """
local held = redis.call('HGET', KEYS[3], ARGV[3])
if held then return tonumber(string.match(held, '^(%d+)')) end
local c = redis.call('HMGET', KEYS[1], 'total', 'daily', 'spent', 'reserved')
if not c[1] or not c[2] then return -1 end
local d = redis.call('HMGET', KEYS[2], 'spent', 'reserved')
local left = tonumber(c[1]) - tonumber(c[3] or 0) - tonumber(c[4] or 0)
local left_day = tonumber(c[2]) - tonumber(d[1] or 0) - tonumber(d[2] or 0)
if left_day < left then left = left_day end
local amount = tonumber(ARGV[1])
if left < amount then amount = left end
if amount <= 0 or amount < tonumber(ARGV[2]) then return 0 end
local text = string.format('%d', amount)
redis.call('HINCRBY', KEYS[1], 'reserved', text)
redis.call('HINCRBY', KEYS[2], 'reserved', text)
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[3], text .. ':' .. ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return amount
"""

# KEYS: campaign, day, holds. ARGV: hold id, micros spent (0 releases the hold).
# Returns the micros released back (hold - spent), -1 for a hold already settled or unknown,
# -2 (and changes nothing) when the spend is above the hold.
SETTLE = """
local held = redis.call('HGET', KEYS[3], ARGV[1])
if not held then return -1 end
local amount = tonumber(string.match(held, '^(%d+)'))
local spent = tonumber(ARGV[2])
if spent > amount or spent < 0 then return -2 end
redis.call('HDEL', KEYS[3], ARGV[1])
local back = string.format('%d', -amount)
redis.call('HINCRBY', KEYS[1], 'reserved', back)
redis.call('HINCRBY', KEYS[2], 'reserved', back)
if spent > 0 then
  redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
  redis.call('HINCRBY', KEYS[2], 'spent', ARGV[2])
end
return amount - spent
"""

# KEYS: campaign, day, holds. ARGV: cutoff ms. Releases the holds reserved before the cutoff
# (their process died or forgot them); returns the micros released.
EXPIRE_HOLDS = """
local entries = redis.call('HGETALL', KEYS[3])
local total = 0
for i = 1, #entries, 2 do
  local amount, at = string.match(entries[i + 1], '^(%d+):(%d+)$')
  if tonumber(at) < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[3], entries[i])
    total = total + tonumber(amount)
  end
end
if total > 0 then
  local back = string.format('%d', -total)
  redis.call('HINCRBY', KEYS[1], 'reserved', back)
  redis.call('HINCRBY', KEYS[2], 'reserved', back)
end
return total
"""

# KEYS: campaign, day, holds of the day, holds of the day before.
# ARGV: total, daily, spent in all, spent on the day, day ttl s.
# Sets the limits and the spend of record; the reserved sums are recounted from the live holds.
# Returns the previous {total, daily, spent, reserved, day spent}, as strings or false.
RECONCILE = """
local before = redis.call('HMGET', KEYS[1], 'total', 'daily', 'spent', 'reserved')
before[5] = redis.call('HGET', KEYS[2], 'spent')
local function held(key)
  local sum = 0
  for _, v in ipairs(redis.call('HVALS', key)) do
    sum = sum + tonumber(string.match(v, '^(%d+)'))
  end
  return sum
end
local today = held(KEYS[3])
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'daily', ARGV[2], 'spent', ARGV[3],
  'reserved', string.format('%d', today + held(KEYS[4])))
redis.call('HSET', KEYS[2], 'spent', ARGV[4], 'reserved', string.format('%d', today))
redis.call('EXPIRE', KEYS[2], ARGV[5])
return before
"""

# KEYS: campaign. ARGV: total, daily. Loads or changes a campaign's limits.
SET_LIMITS = """
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'daily', ARGV[2])
return 1
"""
