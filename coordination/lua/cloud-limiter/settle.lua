--[[
  Settles a reserved call to the tokens it really used, or cancels it. A settled call is
  re-stamped with the time it ended: the provider counted it from some moment after our
  reservation, so counting it from its end never lets it leave our window before it leaves the
  provider's.

  KEYS[1] calls     <prefix>:cloud-limit:<model>
  KEYS[2] tokens    <prefix>:cloud-limit:<model>:tokens
  ARGV[1] call id
  ARGV[2] tokens used ('-1' cancels the reservation)
  Returns 1 when settled or cancelled, 0 when the reservation was gone.
]]
--- @include "../includes/server-now"

if ARGV[2] == '-1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 1
