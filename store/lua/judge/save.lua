--[[
  Stores a conversation's judgement (replacing an earlier one) with the conversation's TTL. The
  first judgement of a run's conversation also counts in the run's summary (`j:scored` /
  `j:unscored`, and per criterion `js:<c>:<score>` and the sum `jsum:<c>`); a re-run of the judge
  replaces the judgement without counting it twice.

  KEYS[1] the judgement hash   <prefix>:conv:{<id>}:judge
  KEYS[2] the run's hash       <prefix>:run:<runId> (KEYS[1] again, never written, without a run)
  ARGV[1] ttl s
  ARGV[2] '1' when the conversation is a run's, else '0'
  ARGV[3..] the judgement's field/value pairs (status, scores as JSON, model, attempts, error, at)
  Returns 1.
]]
--- @include "../run/includes/count-judgement"

local first = redis.call('EXISTS', KEYS[1]) == 0
redis.call('DEL', KEYS[1])
local status, scores
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i] == 'status' then status = ARGV[i + 1] end
  if ARGV[i] == 'scores' then scores = ARGV[i + 1] end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
-- Counted in the run by the run store's fragment.
if first and ARGV[2] == '1' then runJudged(KEYS[2], status, scores) end
return 1
