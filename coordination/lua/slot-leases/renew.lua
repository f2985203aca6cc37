--[[
  Extends a held lease (expired leases are dropped first).

  KEYS[1] the endpoint's leases  <prefix>:ollama-slots:<endpoint>
  ARGV[1] lease ms
  ARGV[2] lease id
  Returns 1 when the lease was still held (and is extended), 0 when it had expired.
]]
--- @include "../includes/server-now"

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1
