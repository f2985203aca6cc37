--[[
  Include, owned by the caller store (store/caller-store.ts, docs/callers.md): an API key's
  conversation slots in its caller hash. callerSlots(k) reads the key's limit and how many of its
  conversations are in flight; callerTake(k, n) counts n more in flight and created;
  callerGiveBack(k) frees one (a terminal transition). The conversation store's create and finish
  and the run store's admission include it, so the caller hash is written by caller code only.
  Uses its arguments only: k is the caller hash (one of the including script's KEYS).
  Returns callerSlots: maxActive (nil when the key has no limit) and active; the others nothing.
]]
local function callerSlots(k)
  return tonumber(redis.call('HGET', k, 'maxActive') or ''), tonumber(redis.call('HGET', k, 'active') or '0')
end

local function callerTake(k, n)
  redis.call('HINCRBY', k, 'active', n)
  redis.call('HINCRBY', k, 'conversations', n)
end

local function callerGiveBack(k)
  redis.call('HINCRBY', k, 'active', -1)
end
