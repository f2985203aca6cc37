--[[
  One round trip for what a reader needs: the conversation hash, then from the steps hash
   - ARGV[1] = 'record': the initial query, templates and seed meta (q, x, m);
   - ARGV[1] = 'all': everything;
   - ARGV[1] = <turn>: q, x, m and the steps of the turn and of the turns its context policy keeps
     before it (at least the previous one), so a step of a long conversation reads no more than it
     needs:
       `sliding` (no contextPolicy field): the `contextTurns` turns before it;
       `blocks`: from the first turn the policy keeps on either side, the same rule as
       conversation/turn-rules.ts `blocksWindowStart` (history tokens = ceil(UTF-8 bytes / 4) of
       each of the two texts of a step, the window start moving `contextTurns` turns at a time
       from turn 1 until the kept history fits `contextTokens`, never past the previous turn).
       The steps are scanned from the newest back and the scan stops once both sides' history
       exceeds the budget: it reads the kept window and at most one turn more.
  Format 1 records (a `settings` field) get only the hash for a window; the store reads on.

  KEYS[1] conversation hash
  KEYS[2] steps hash
  ARGV[1] 'record' | 'all' | a turn number
  ARGV[2] the `blocks` budget in tokens when the record has no contextTokens (DEFAULT_CONTEXT_TOKENS)
  Returns false (nil) for an unknown conversation, else {hash field/values, steps field/values}
  (only the hash for a format 1 record read for a turn).
]]
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return false end
local mode = ARGV[1]
if mode == 'all' then return {h, redis.call('HGETALL', KEYS[2])} end
local ctx = 0
local policy = 'sliding'
local budget = tonumber(ARGV[2]) or 0
for i = 1, #h, 2 do
  if h[i] == 'settings' then return {h} end
  if h[i] == 'contextTurns' then ctx = tonumber(h[i + 1]) end
  if h[i] == 'contextPolicy' then policy = h[i + 1] end
  if h[i] == 'contextTokens' then budget = tonumber(h[i + 1]) end
end

-- The first turn the `blocks` policy keeps before `turn` on the side whose steps are field 1 or 2.
local function blocksFrom(turn)
  if turn <= 2 then return 1 end
  local step = math.max(1, ctx)
  local sums = {0, 0}
  -- kmin[s]: the oldest turn from which side s's history up to turn - 1 fits the budget.
  local kmin = {turn, turn}
  for k = turn - 1, 1, -1 do
    local v = redis.call('HMGET', KEYS[2], 'c' .. k, 'l' .. k)
    for s = 1, 2 do
      if v[s] then
        local texts = cjson.decode(v[s])
        sums[s] = sums[s] + math.ceil(#texts[1] / 4) + math.ceil(#texts[2] / 4)
      end
      if sums[s] <= budget then kmin[s] = k end
    end
    if sums[1] > budget and sums[2] > budget then break end
  end
  local from = turn - 1
  for s = 1, 2 do
    -- The first block start at or after kmin, never past the previous turn.
    local start = 1 + math.ceil((kmin[s] - 1) / step) * step
    from = math.min(from, start)
  end
  return math.max(1, from)
end

local fields = {'q', 'x', 'm'}
if mode ~= 'record' then
  local turn = tonumber(mode)
  local from
  if policy == 'blocks' then from = blocksFrom(turn) else from = math.max(1, turn - math.max(1, ctx)) end
  for k = from, turn do
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
