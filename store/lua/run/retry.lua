--[[
  Puts a failed or timed-out conversation of the run back at the front of the backlog: out of the
  admitted set, its counts taken back, its record deleted (the caller removed its jobs), counted
  like any waiting seed (never refused: the run had it already). The record is read and deleted
  by the conversation store's fragment (conversation/includes/remove-failed.lua).

  KEYS[1] run hash
  KEYS[2] the run's admitted conversations (sorted set)
  KEYS[3] the run's backlog (list of ids)
  KEYS[4] the backlog's payloads (hash id → payload)
  KEYS[5] the conversation hash (store/conversation-store.ts names it: ConversationStore.recordKeys)
  KEYS[6] the conversation's steps hash
  KEYS[7] the backlog totals over all runs of the run's shard
  ARGV[1] conversation id
  ARGV[2] the seed's payload
  Returns 1 when done, 0 when it is not a failed or timed-out conversation of the run.
]]
--- @include "../conversation/includes/remove-failed"

if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
local status, reason = removeFailed(KEYS[5], KEYS[6])
if not status then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'n:' .. status, -1)
if reason then redis.call('HINCRBY', KEYS[1], 'r:' .. reason, -1) end
redis.call('HINCRBY', KEYS[1], 'retried', 1)
redis.call('LPUSH', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
local size = #ARGV[1] + #ARGV[2]
redis.call('HINCRBY', KEYS[1], 'backlogBytes', size)
redis.call('HINCRBY', KEYS[7], 'seeds', 1)
redis.call('HINCRBY', KEYS[7], 'bytes', size)
return 1
