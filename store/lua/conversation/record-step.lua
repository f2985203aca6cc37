--[[
  Records a step once (HSETNX); only when it was written: bump updatedAt, keep the steps' TTL with
  the conversation's, publish the event, and add the step's tokens to the conversation's run.
  One round trip.

  The run hash is declared by the caller (a Cluster refuses an undeclared key): the caller names
  the run it believes the conversation has (ARGV[6], from the record it read); when that is not
  the record's, nothing is written and the script answers the right one, for the caller to run it
  again with that run's hash (the run of a conversation never changes).

  KEYS[1] conversation hash
  KEYS[2] steps hash
  KEYS[3] the run's hash <prefix>:run:<runId> (KEYS[1] again when the conversation has no run)
  KEYS[4] the shard's events channel with sharded pub/sub (ARGV[8]), else KEYS[1] again (unused)
  ARGV[1] step field (c<k> / l<k>)
  ARGV[2] step record (JSON)
  ARGV[3] now ms (updatedAt)
  ARGV[4] events channel
  ARGV[5] event (JSON)
  ARGV[6] '=' .. the run id, or '' for no run
  ARGV[7] the step's tokens (input + output)
  ARGV[8] '1': SPUBLISH the event on KEYS[4] (REDIS_SHARDS on a cluster); '': PUBLISH on ARGV[4]
  Returns 1 when written, 0 when the step was recorded already, {'keys', run} (as ARGV[6]) when
  ARGV[6] is not the conversation's run.
]]
--- @include "../includes/holders"
--- @include "../run/includes/count-tokens"

local run = holderOf(KEYS[1], 'run')
if run ~= ARGV[6] then return {'keys', run} end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
-- The steps expire with their conversation, finished or not.
local ttl = redis.call('TTL', KEYS[1])
if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
if ARGV[8] == '1' then
  redis.call('SPUBLISH', KEYS[4], ARGV[5])
else
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
-- A run's conversation adds its tokens to the run (the run store's fragment).
if run ~= '' then runTokens(KEYS[3], ARGV[7]) end
return 1
