--[[
  Include: `now`, the Redis server's time in ms (so the clocks of worker hosts do not matter).
  Uses nothing.
  Returns nothing; defines the local `now`.
]]
local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
