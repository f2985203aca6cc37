--[[
  Include, owned by the conversation store (store/conversation-store.ts): removeFailed(k, ks)
  deletes a conversation's record (its hash k and its steps hash ks) when it ended `failed` or
  `timed_out`, for a run's retry (store/lua/run/retry.lua) to admit it again. Any other record is
  left as it is. The run store's retry includes it, so the conversation's keys are deleted by
  conversation code only.
  Uses its arguments only: k and ks are the record's two hashes (KEYS of the including script).
  Returns the status and the stop reason it had (the reason may be nil) when it deleted the
  record, else nil.
]]
local function removeFailed(k, ks)
  local status = redis.call('HGET', k, 'status')
  if status ~= 'failed' and status ~= 'timed_out' then return nil end
  local reason = redis.call('HGET', k, 'stopReason')
  redis.call('DEL', k, ks)
  return status, reason
end
