--[[
  Sets one field of a conversation hash that exists; a missing one (finished, archived and let go
  by Redis) is left missing, never re-created as a bare hash without expiry (issue 25).

  KEYS[1] conversation hash
  ARGV[1] field
  ARGV[2] value
  Returns 1 when it was set, 0 when the hash is missing.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
