--[[
  A batch of seeds joins the run's backlog unless the run already has it (waiting or admitted).
  From the first one that would pass a cap (the run's seeds, the backlog's seeds or bytes over all
  runs, counted in the totals here and wherever a seed leaves the backlog), every later new seed is
  refused, so what was added is a prefix of the batch. A run marked archived (run/archived.lua:
  its keys are expiring) refuses every new seed.

  KEYS[1] run hash
  KEYS[2] the run's admitted conversations (sorted set)
  KEYS[3] the run's backlog (list of ids)
  KEYS[4] the backlog's payloads (hash id → payload)
  KEYS[5] the backlog totals over all runs of the run's shard (hash: seeds, bytes; REDIS_SHARDS: the caps are its share)
  ARGV[1] runMaxSeeds
  ARGV[2] backlogMaxSeeds
  ARGV[3] backlogMaxBytes
  ARGV[4..] id, payload, id, payload…
  Returns {accepted, duplicates, refused, why ('' | 'run' | 'seeds' | 'bytes' | 'archived'), first (1-based index
  of the first refused seed, or 0)}.
]]
local runMax, maxSeeds, maxBytes = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local runSeeds = tonumber(redis.call('HGET', KEYS[1], 'seeds') or '0')
local seeds = tonumber(redis.call('HGET', KEYS[5], 'seeds') or '0')
local bytes = tonumber(redis.call('HGET', KEYS[5], 'bytes') or '0')
local acc, dup, refused, why, added, first = 0, 0, 0, '', 0, 0
if redis.call('HEXISTS', KEYS[1], 'archived') == 1 then why = 'archived' end
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[2], id) or redis.call('HEXISTS', KEYS[4], id) == 1 then
    dup = dup + 1
  else
    local size = #id + #ARGV[i + 1]
    if why == '' then
      if runSeeds + acc + 1 > runMax then why = 'run'
      elseif seeds + acc + 1 > maxSeeds then why = 'seeds'
      elseif bytes + added + size > maxBytes then why = 'bytes' end
    end
    if why ~= '' then
      refused = refused + 1
      if first == 0 then first = (i - 2) / 2 end
    else
      redis.call('RPUSH', KEYS[3], id)
      redis.call('HSET', KEYS[4], id, ARGV[i + 1])
      acc = acc + 1
      added = added + size
    end
  end
end
redis.call('HINCRBY', KEYS[1], 'seeds', acc)
redis.call('HINCRBY', KEYS[1], 'duplicates', dup)
if acc > 0 then
  redis.call('HINCRBY', KEYS[1], 'backlogBytes', added)
  redis.call('HINCRBY', KEYS[5], 'seeds', acc)
  redis.call('HINCRBY', KEYS[5], 'bytes', added)
end
return {acc, dup, refused, why, first}
