--[[
  Moves a conversation to a terminal state, once. With the transition (so once per conversation):
  a run's conversation frees its admission slot and counts its status and stop reason in the run
  (the run store's fragment run/includes/count-finished.lua), and an owned one gives its owner's slot back
  (the caller store's fragment caller/includes/slots.lua; docs/callers.md). With an archive, the
  conversation joins <prefix>:unarchived in the same step: the archive's write takes it out
  (ending/archive-finished.ts), and the reconciler archives what a crash left there.

  The run's and the owner's hashes are declared by the caller (a Cluster refuses an undeclared
  key): the caller names the run and owner it believes the conversation has (ARGV[6], ARGV[7]);
  when they are not the record's, nothing is written and the script answers the right ones, for
  the caller to run it again with their hashes (neither ever changes).

  KEYS[1] conversation hash
  KEYS[2] steps hash
  KEYS[3] the run's hash <prefix>:run:<runId> (KEYS[1] again when the conversation has no run)
  KEYS[4] the owner's caller hash <prefix>:caller:<owner> (KEYS[1] again when it has no owner)
  KEYS[5] <prefix>:unarchived, zset of finished conversations not archived yet (score: finish ms);
          the conversation hash again when there is no archive (ARCHIVE_URL=off)
  ARGV[1] terminal status
  ARGV[2] stop reason
  ARGV[3] error ('' none)
  ARGV[4] now ms (updatedAt, finishedAt)
  ARGV[5] retention ttl s
  ARGV[6] '=' .. the run id, or '' for no run
  ARGV[7] '=' .. the owner, or '' for no owner
  ARGV[8] the conversation id ('' when KEYS[5] is KEYS[1]: no archive)
  Returns 1 when it moved, 0 when already terminal, -1 for an unknown conversation,
  {'keys', run, owner} (as ARGV[6], ARGV[7]) when those are not the conversation's.
]]
--- @include "../includes/holders"
--- @include "../run/includes/count-finished"
--- @include "../caller/includes/slots"

local s = redis.call('HGET', KEYS[1], 'status')
if not s then return -1 end
if s == 'completed' or s == 'failed' or s == 'cancelled' or s == 'timed_out' then return 0 end
local run, owner = holderOf(KEYS[1], 'run'), holderOf(KEYS[1], 'owner')
if run ~= ARGV[6] or owner ~= ARGV[7] then return {'keys', run, owner} end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'stopReason', ARGV[2], 'updatedAt', ARGV[4], 'finishedAt', ARGV[4])
redis.call('HDEL', KEYS[1], 'pendingStop')
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
if run ~= '' then runFinished(KEYS[3], ARGV[1], ARGV[2], ARGV[4]) end
if owner ~= '' then callerGiveBack(KEYS[4]) end
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[5], ARGV[4], ARGV[8]) end
return 1
