--[[
  Gives a slot back and publishes the release, which wakes the waiters of every process.

  KEYS[1] the endpoint's leases  <prefix>:ollama-slots:<endpoint>
  KEYS[2] the release channel    <prefix>:ollama-slots:released (a pub/sub channel, passed like a key)
  ARGV[1] lease id
  Returns 1 when the lease was held, 0 when it was gone.
]]
local n = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return n
