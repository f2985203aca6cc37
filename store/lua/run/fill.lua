--[[
  Admission: claims backlog seeds while fewer than `maxActive` of the run are in flight, moving
  each to the admitted set and the `admitting` hash and counting it `active`, in the same step.
  An owned run also stays within its owner's free slots (the caller hash's `maxActive`, counted in
  its `active`, which the terminal transition gives back; the caller store's fragment
  caller/includes/slots.lua; docs/callers.md).

  The owner's hash is declared by the caller (a Cluster refuses an undeclared key): the caller
  names the owner it believes the run has (ARGV[3]); when that is not the run's, nothing is
  written and the script answers the right one, for the caller to run it again with that owner's
  hash (a run's owner never changes).

  KEYS[1] run hash
  KEYS[2] the run's admitted conversations (sorted set, scored by admission order)
  KEYS[3] the run's backlog (list of ids)
  KEYS[4] the backlog's payloads (hash id → payload)
  KEYS[5] the run's admitting hash (id → '<ms>|<payload>')
  KEYS[6] the backlog totals over all runs of the run's shard
  KEYS[7] the owner's caller hash <prefix>:caller:<owner> (KEYS[1] again when the run has no owner)
  ARGV[1] now ms
  ARGV[2] most seeds to claim
  ARGV[3] '=' .. the owner, or '' for no owner
  Returns id, payload, id, payload… (empty: nothing claimed), or {0, owner} (as ARGV[3]) when
  ARGV[3] is not the run's owner.
]]
--- @include "../includes/uncount"
--- @include "../includes/holders"
--- @include "../caller/includes/slots"

if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return {} end
-- A run whose budget could not cover a call admits nothing more.
if redis.call('HEXISTS', KEYS[1], 'budgetExhausted') == 1 then return {} end
local owner = holderOf(KEYS[1], 'owner')
if owner ~= ARGV[3] then return {0, owner} end
local free = tonumber(redis.call('HGET', KEYS[1], 'maxActive')) - tonumber(redis.call('HGET', KEYS[1], 'active') or '0')
if owner ~= '' then
  local max, active = callerSlots(KEYS[7])
  if max then free = math.min(free, max - active) end
end
local n = math.min(free, tonumber(ARGV[2]))
local out = {}
local taken, size = 0, 0
for i = 1, n do
  local id = redis.call('LPOP', KEYS[3])
  if not id then break end
  local payload = redis.call('HGET', KEYS[4], id)
  redis.call('HDEL', KEYS[4], id)
  if payload then
    local seq = redis.call('HINCRBY', KEYS[1], 'admitted', 1)
    redis.call('ZADD', KEYS[2], seq, id)
    redis.call('HSET', KEYS[5], id, ARGV[1] .. '|' .. payload)
    redis.call('HINCRBY', KEYS[1], 'active', 1)
    out[#out + 1] = id
    out[#out + 1] = payload
    taken = taken + 1
    size = size + #id + #payload
  end
end
uncount(6, taken, size)
if #out > 0 then redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1]) end
if owner ~= '' and #out > 0 then
  callerTake(KEYS[7], #out / 2)
end
return out
