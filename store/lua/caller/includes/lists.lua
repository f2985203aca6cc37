--[[
  Include, owned by the caller store (store/caller-store.ts): what an API key created, listed.
  callerListConversation(l, id, limit) puts a conversation id first on the key's latest list l,
  trimmed to limit; callerListRun(k, r, id, now) counts a run in the caller hash k (`runs`) and
  adds it to the key's runs index r; callerUnlistRun(r, id) takes a run that held nothing off that
  index (the `runs` count stays: a counter). The conversation store's create and the run store's
  create and discard include it, so the caller's keys are written by caller code only.
  Uses its arguments only: l, k and r are the caller's keys (KEYS of the including script).
  Returns nothing.
]]
local function callerListConversation(l, id, limit)
  redis.call('LPUSH', l, id)
  redis.call('LTRIM', l, 0, limit - 1)
end

local function callerListRun(k, r, id, now)
  redis.call('ZADD', r, now, id)
  redis.call('HINCRBY', k, 'runs', 1)
end

local function callerUnlistRun(r, id)
  redis.call('ZREM', r, id)
end
