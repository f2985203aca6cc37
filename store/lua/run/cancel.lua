--[[
  Stops a run's admission and drops its backlog (its seeds and bytes taken off the totals).

  KEYS[1] run hash
  KEYS[2] the run's backlog (list of ids)
  KEYS[3] the backlog's payloads (hash id → payload)
  KEYS[4] the backlog totals over all runs of the run's shard
  ARGV[1] now ms
  Returns how many seeds it dropped, or -1 for an unknown run.
]]
--- @include "../includes/uncount"

if not redis.call('HGET', KEYS[1], 'state') then return -1 end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'updatedAt', ARGV[1])
local n = redis.call('LLEN', KEYS[2])
uncount(4, redis.call('HLEN', KEYS[3]), tonumber(redis.call('HGET', KEYS[1], 'backlogBytes') or '0'))
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HINCRBY', KEYS[1], 'unadmitted', n)
return n
