--[[
  Releases a call's reservation (if it is still there) and adds the real usage to every budget
  that exists, counting one settled call on each.

  KEYS[2i-1] budget i's hash (i = 1 … #KEYS / 2)
  KEYS[2i] budget i's reservations
  ARGV[1] reservation id
  ARGV[2] usd used (nano-dollars)
  ARGV[3] tokens used
  Returns 1.
]]
--- @include "../includes/int"

local id, usd, tok = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, #KEYS / 2 do
  local b, r = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('EXISTS', b) == 1 then
    local v = redis.call('HGET', r, id)
    if v then
      local ru, rt = string.match(v, '^(%S+) (%S+)')
      redis.call('HINCRBY', b, 'resUsd', int(0 - tonumber(ru)))
      redis.call('HINCRBY', b, 'resTokens', int(0 - tonumber(rt)))
      redis.call('HDEL', r, id)
    end
    redis.call('HINCRBY', b, 'spentUsd', int(usd))
    redis.call('HINCRBY', b, 'spentTokens', int(tok))
    redis.call('HINCRBY', b, 'calls', 1)
  end
end
return 1
