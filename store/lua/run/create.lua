--[[
  Creates a run, or, when it exists, updates its `maxActive` if given. An owned run records its
  owner and that its ids are keyed (`ids` 2, runs/seed-identity.ts), and counts in the owner's
  `runs` (the caller store's fragment caller/includes/lists.lua). Every key is at the run's shard
  (REDIS_SHARDS: an owned run's id is drawn on its owner's shard, runs/run-ids.ts).

  KEYS[1] run hash                 <prefix>:run:<runId>
  KEYS[2] runs index of the run's shard (sorted set)  <prefix>:runs
  KEYS[3] the owner's runs index   <prefix>:runs:by:<owner>
  KEYS[4] the owner's caller hash  <prefix>:caller:<owner>
  ARGV[1] run id
  ARGV[2] name
  ARGV[3] now ms
  ARGV[4] maxActive ('' none)
  ARGV[5] default maxActive
  ARGV[6] owner ('' none)
  ARGV[7] the run's conversation settings (canonical JSON; '' none: kept as `settings`, runs/run-settings.ts)
  Returns 1 when created, 0 when it existed.
]]
--- @include "../caller/includes/lists"

if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'maxActive', ARGV[4]) end
  return 0
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2], 'createdAt', ARGV[3], 'updatedAt', ARGV[3],
  'maxActive', ARGV[4] ~= '' and ARGV[4] or ARGV[5], 'state', 'active', 'seeds', 0, 'duplicates', 0, 'rejected', 0,
  'admitted', 0, 'active', 0, 'tokens', 0)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[6], 'ids', 2)
  callerListRun(KEYS[4], KEYS[3], ARGV[1], ARGV[3])
end
if ARGV[7] and ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'settings', ARGV[7]) end
return 1
