--[[
  Include, owned by the run store (store/run-store.ts): runFinished(k, status, reason, now) counts a
  run's conversation's terminal transition in the run's hash: its admission slot freed (`active`),
  its status (`n:<status>`) and stop reason (`r:<reason>`) counted, `updatedAt`. A run that is gone
  is left alone. The conversation store's finish includes it, so the run's fields are written by
  run code only.
  Uses its arguments only: k is the run's hash (one of the including script's KEYS).
  Returns nothing.
]]
local function runFinished(k, status, reason, now)
  if redis.call('EXISTS', k) == 1 then
    redis.call('HINCRBY', k, 'active', -1)
    redis.call('HINCRBY', k, 'n:' .. status, 1)
    redis.call('HINCRBY', k, 'r:' .. reason, 1)
    redis.call('HSET', k, 'updatedAt', now)
  end
end
