--[[
  Include: uncount(t, n, b) takes `n` seeds and `b` bytes off the backlog totals and the run's
  `backlogBytes`, never below 0 (store/run-store.ts).
  Uses KEYS[1] the run hash, KEYS[t] the backlog totals hash (t is the including script's index).
  Returns nothing.
]]
local function uncount(t, n, b)
  if n <= 0 then return end
  for _, f in ipairs({{KEYS[t], 'seeds', n}, {KEYS[t], 'bytes', b}, {KEYS[1], 'backlogBytes', b}}) do
    if redis.call('HINCRBY', f[1], f[2], -f[3]) < 0 then redis.call('HSET', f[1], f[2], 0) end
  end
end
