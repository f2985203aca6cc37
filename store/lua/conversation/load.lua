--[[
  One round trip for what a reader needs: the conversation hash, then from the steps hash
   - ARGV[1] = 'record': the initial query, templates and seed meta (q, x, m);
   - ARGV[1] = 'all': everything;
   - ARGV[1] = <turn>: q, x, m and the steps of the turn and of the `contextTurns` before it (at
     least one), so a step of a long conversation reads no more than an early one.
  Format 1 records (a `settings` field) get only the hash for a window; the store reads on.

  KEYS[1] conversation hash
  KEYS[2] steps hash
  ARGV[1] 'record' | 'all' | a turn number
  Returns false (nil) for an unknown conversation, else {hash field/values, steps field/values}
  (only the hash for a format 1 record read for a turn).
]]
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
local mode = ARGV[1]
if mode == 'all' then return {h, redis.call('HGETALL', KEYS[2])} end
local ctx = 0
for i = 1, #h, 2 do
  if h[i] == 'settings' then return {h} end
  if h[i] == 'contextTurns' then ctx = tonumber(h[i + 1]) end
end
local fields = {'q', 'x', 'm'}
if mode ~= 'record' then
  local turn = tonumber(mode)
  for k = math.max(1, turn - math.max(1, ctx)), turn do
    fields[#fields + 1] = 'c' .. k
    fields[#fields + 1] = 'l' .. k
  end
end
local v = redis.call('HMGET', KEYS[2], unpack(fields))
local out = {}
for i = 1, #fields do
  if v[i] then
    out[#out + 1] = fields[i]
    out[#out + 1] = v[i]
  end
end
return {h, out}
