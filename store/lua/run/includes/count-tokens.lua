--[[
  Include, owned by the run store (store/run-store.ts): runTokens(k, n) adds a recorded step's
  tokens to the run's hash (`tokens`), unless the run is gone. The conversation store's
  record-step includes it, so the run's fields are written by run code only.
  Uses its arguments only: k is the run's hash (one of the including script's KEYS).
  Returns nothing.
]]
local function runTokens(k, n)
  if redis.call('EXISTS', k) == 1 then redis.call('HINCRBY', k, 'tokens', n) end
end
