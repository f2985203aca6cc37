--[[
  A finished run has been written to the archive (issue 25 part 4; ending/archive-run.ts): unless
  it holds live work again (a seed waiting or being admitted, a conversation in flight), marks it
  `archived` (the time; an append is refused from now on) and lets every key of it expire after
  REDIS_RETENTION_SECONDS, and takes it off the runs index, its owner's runs index (the archive
  lists it from now on) and the runs waiting for the archive. Its reads fall through to the archive once its hash is gone.

  KEYS[1] run hash
  KEYS[2] the run's admitted conversations (sorted set)
  KEYS[3] the run's backlog (list)
  KEYS[4] the backlog's payloads (hash)
  KEYS[5] the run's admitting hash
  KEYS[6] the run's rejected lines (list)
  KEYS[7] the run's budget hash
  KEYS[8] the run's seed signatures (string)
  KEYS[9] the run's LSH bands (hash)
  KEYS[10] the run's conversation signatures (hash)
  KEYS[11] runs index of the run's shard (sorted set)
  KEYS[12] the owner's runs index (sorted set)
  KEYS[13] runs of the run's shard waiting for the archive (sorted set)
  ARGV[1] run id
  ARGV[2] seconds the keys stay (REDIS_RETENTION_SECONDS)
  ARGV[3] now (ms)
  Returns 1 when marked, 0 when the run is gone or holds live work.
]]
--- @include "../caller/includes/lists"

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('LLEN', KEYS[3]) > 0 or redis.call('HLEN', KEYS[5]) > 0
  or tonumber(redis.call('HGET', KEYS[1], 'active') or '0') > 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'archived', ARGV[3])
for i = 1, 10 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
redis.call('ZREM', KEYS[11], ARGV[1])
callerUnlistRun(KEYS[12], ARGV[1])
redis.call('ZREM', KEYS[13], ARGV[1])
return 1
