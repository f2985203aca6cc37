--[[
  Counts the live leases of each endpoint (expired ones dropped).

  KEYS[i] endpoint i's leases (i = 1 … #KEYS)  <prefix>:ollama-slots:<endpoint>
  ARGV none
  Returns {live leases of endpoint 1, …}.
]]
--- @include "../includes/server-now"

local out = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  out[i] = redis.call('ZCARD', key)
end
return out
