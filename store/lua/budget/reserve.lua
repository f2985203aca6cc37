--[[
  Reserves a call's worst case against every budget that applies (store/budget-store.ts), or
  none of them: a budget that does not exist is skipped unless it has init limits (a
  conversation's budget, created on first use); expired reservations and this job's own earlier
  one (a retry after a crash) are released first.

  KEYS[2i-1] budget i's hash (i = 1 … #KEYS / 2)
  KEYS[2i] budget i's reservations (hash: reservation id → '<usd> <tokens> <expiresAtMs>')
  ARGV[1] reservation id
  ARGV[2] usd (nano-dollars; -1 = the model has no price)
  ARGV[3] tokens
  ARGV[4] now ms
  ARGV[5] the reservation's expiry, ms
  ARGV[6] ttl s of a budget created here
  ARGV[5+2i] budget i's init usd limit (nano; '' none)
  ARGV[6+2i] budget i's init tokens limit ('' none)
  Returns {1} when reserved, else {0, budget index (1-based), 'usd' | 'tokens' | 'price_unknown',
  limit, spent, reserved}.
]]
--- @include "../includes/int"

local id, usd, tok, now, exp, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local n = #KEYS / 2
local live = {}
for i = 1, n do
  local b, r = KEYS[2 * i - 1], KEYS[2 * i]
  local iu, it = ARGV[5 + 2 * i], ARGV[6 + 2 * i]
  if (iu ~= '' or it ~= '') and redis.call('EXISTS', b) == 0 then
    if iu ~= '' then redis.call('HSET', b, 'usd', iu) end
    if it ~= '' then redis.call('HSET', b, 'tokens', it) end
    redis.call('EXPIRE', b, ttl)
  end
  if redis.call('EXISTS', b) == 1 then
    -- Release expired reservations and this job's own earlier one (a retry after a crash).
    local all = redis.call('HGETALL', r)
    for j = 1, #all, 2 do
      local ru, rt, rx = string.match(all[j + 1], '^(%S+) (%S+) (%S+)$')
      if all[j] == id or tonumber(rx) <= now then
        redis.call('HINCRBY', b, 'resUsd', int(0 - tonumber(ru)))
        redis.call('HINCRBY', b, 'resTokens', int(0 - tonumber(rt)))
        redis.call('HDEL', r, all[j])
      end
    end
    live[#live + 1] = i
  end
end
for _, i in ipairs(live) do
  local b = KEYS[2 * i - 1]
  local h = redis.call('HMGET', b, 'usd', 'tokens', 'spentUsd', 'spentTokens', 'resUsd', 'resTokens')
  local lu, lt = tonumber(h[1]), tonumber(h[2])
  local su, st, ru, rt = tonumber(h[3] or 0), tonumber(h[4] or 0), tonumber(h[5] or 0), tonumber(h[6] or 0)
  if lu and usd < 0 then return {0, i, 'price_unknown', lu, su, ru} end
  if lu and su + ru + usd > lu then return {0, i, 'usd', lu, su, ru} end
  if lt and st + rt + tok > lt then return {0, i, 'tokens', lt, st, rt} end
end
for _, i in ipairs(live) do
  local b, r = KEYS[2 * i - 1], KEYS[2 * i]
  local u = math.max(usd, 0)
  redis.call('HINCRBY', b, 'resUsd', int(u))
  redis.call('HINCRBY', b, 'resTokens', int(tok))
  redis.call('HSET', r, id, int(u) .. ' ' .. int(tok) .. ' ' .. exp)
  local t = redis.call('PTTL', b)
  if t > 0 then redis.call('PEXPIRE', r, t) end
end
return {1}
