--[[
  Include: drops the calls that started more than a window ago from a model's window
  (coordination/cloud-limiter.ts) and defines `window`, `used` (tokens of the calls left), `count` (calls
  left) and `factor` (the AIMD factor). Needs `now` (includes/server-now.lua) before it.
  Uses KEYS[1] calls (sorted set: call id → start ms), KEYS[2] tokens (hash: call id → tokens),
       KEYS[3] aimd (hash: factor, decreasedAt); ARGV[5] window ms.
  Returns nothing.
]]
local window = tonumber(ARGV[5])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  redis.call('HDEL', KEYS[2], unpack(old))
end
local used = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(v) end
local count = redis.call('ZCARD', KEYS[1])
local factor = tonumber(redis.call('HGET', KEYS[3], 'factor') or '1')
