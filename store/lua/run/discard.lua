--[[
  Removes a run that holds nothing: no seed was ever accepted, none admitted (an upload that
  created it failed before adding any). Its hash, rejected lines, budget and index entries go;
  the owner's count of runs created stays (a counter).

  KEYS[1] run hash
  KEYS[2] the run's rejected lines (list)
  KEYS[3] the run's budget hash
  KEYS[4] runs index of the run's shard (sorted set)
  KEYS[5] the owner's runs index (sorted set)
  KEYS[6] the run's admitted conversations (sorted set)
  ARGV[1] run id
  Returns 1 when removed, 0 when the run holds seeds (or does not exist).
]]
--- @include "../caller/includes/lists"

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'seeds') or '0') > 0 or tonumber(redis.call('HGET', KEYS[1], 'admitted') or '0') > 0
  or redis.call('ZCARD', KEYS[6]) > 0 then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
callerUnlistRun(KEYS[5], ARGV[1])
return 1
