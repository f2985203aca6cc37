--[[
  queued → running; anything else is left as it is.

  KEYS[1] conversation hash
  ARGV[1] now ms (updatedAt)
  Returns 1 when it changed, else 0.
]]
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'queued' then redis.call('HSET', KEYS[1], 'status', 'running', 'updatedAt', ARGV[1]) return 1 end
return 0
