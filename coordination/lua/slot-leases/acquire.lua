--[[
  Takes a slot on the endpoint with the most free slots (ties: the first listed), as a lease that
  expires (expired leases are dropped first).

  KEYS[i] endpoint i's leases (i = 1 … #KEYS)  <prefix>:ollama-slots:<endpoint> (sorted set: lease id → expiry ms)
  ARGV[1] lease ms
  ARGV[2] lease id
  ARGV[2+i] endpoint i's slots
  Returns the 0-based index of the endpoint taken, or -1 when every endpoint is full.
]]
--- @include "../includes/server-now"

local leaseMs = tonumber(ARGV[1])
local best, bestFree = -1, 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local free = tonumber(ARGV[i + 2]) - redis.call('ZCARD', key)
  if free > bestFree then best, bestFree = i, free end
end
if best < 0 then return -1 end
redis.call('ZADD', KEYS[best], now + leaseMs, ARGV[2])
redis.call('PEXPIRE', KEYS[best], leaseMs * 2)
return best - 1
