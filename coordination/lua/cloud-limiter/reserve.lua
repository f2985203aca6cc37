--[[
  Reserves one request and its tokens in a cloud model's sliding window, within the configured
  limits times the AIMD factor. A call bigger than the whole effective window still runs alone in
  an empty window.

  KEYS[1] calls     <prefix>:cloud-limit:<model> (sorted set: call id → start ms)
  KEYS[2] tokens    <prefix>:cloud-limit:<model>:tokens (hash: call id → tokens)
  KEYS[3] aimd      <prefix>:cloud-limit:<model>:aimd (hash: factor, decreasedAt)
  ARGV[1] rpm (0 = none)
  ARGV[2] tpm (0 = none)
  ARGV[3] call id
  ARGV[4] tokens to reserve
  ARGV[5] window ms
  Returns 0 when reserved, else the ms until the oldest call leaves the window (at least 1).
]]
--- @include "../includes/server-now"
--- @include "../includes/limiter-window"

local rpm, tpm, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local okR = rpm == 0 or count + 1 <= math.max(1, math.floor(rpm * factor))
local capT = math.floor(tpm * factor)
local okT = tpm == 0 or used + want <= capT or count == 0
if okR and okT then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[3], want)
  redis.call('PEXPIRE', KEYS[1], window * 2)
  redis.call('PEXPIRE', KEYS[2], window * 2)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then return math.max(1, tonumber(oldest[2]) + window - now) end
return 1
