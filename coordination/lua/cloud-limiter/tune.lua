--[[
  AIMD: a 429 multiplies a model's factor by the decrease (at most once per decreaseEveryMs, so
  one burst counts once, never below the min factor); a success adds the increase, up to 1.

  KEYS[1] aimd      <prefix>:cloud-limit:<model>:aimd (hash: factor, decreasedAt)
  ARGV[1] 'down' (a 429) | 'up' (a success)
  ARGV[2] decrease factor
  ARGV[3] increase step
  ARGV[4] min factor
  ARGV[5] decreaseEveryMs
  Returns the factor (a string).
]]
--- @include "../includes/server-now"

local factor = tonumber(redis.call('HGET', KEYS[1], 'factor') or '1')
if ARGV[1] == 'down' then
  local at = tonumber(redis.call('HGET', KEYS[1], 'decreasedAt') or '0')
  if now - at >= tonumber(ARGV[5]) then
    factor = math.max(tonumber(ARGV[4]), factor * tonumber(ARGV[2]))
    redis.call('HSET', KEYS[1], 'factor', tostring(factor), 'decreasedAt', now)
  end
elseif factor < 1 then
  factor = math.min(1, factor + tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'factor', tostring(factor))
end
redis.call('PEXPIRE', KEYS[1], 3600000)
return tostring(factor)
