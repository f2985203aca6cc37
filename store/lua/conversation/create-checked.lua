--[[
  Creates a conversation with an owner and/or an Idempotency-Key, in one step (docs/callers.md):
   - a known key answers the first conversation's id ('replay'), or 'mismatch' when the first
     request's body hash differs;
   - an owner at its `maxActive` (the caller hash) gets 'busy' with the limit and the count;
   - else the record is written, the key set (with its body hash), the owner's slot, count and
     latest list updated (the owner's keys through the caller store's fragments, caller/includes/).

  KEYS[1] conversation hash
  KEYS[2] steps hash
  KEYS[3] latest list
  KEYS[4] idempotency key        <prefix>:idem:<sha256>
  KEYS[5] its body hash          <prefix>:idem:<sha256>:body
  KEYS[6] the owner's caller hash (store/caller-store.ts)
  KEYS[7] the owner's latest list
  ARGV[1..3+nc+ns] the record, as in conversation/create.lua (ttl, nc, ns, conversation…, steps…)
  ARGV[4+nc+ns] conversation id
  ARGV[5+nc+ns] how many ids the latest lists keep
  ARGV[6+nc+ns] '1' with an Idempotency-Key, else ''
  ARGV[7+nc+ns] the SHA-256 of the request's canonical body ('' none)
  ARGV[8+nc+ns] '1' with an owner, else ''
  Returns {'created', id} | {'replay', first id} | {'mismatch', first id} | {'busy', maxActive, active}.
]]
--- @include "../includes/write-record"
--- @include "../caller/includes/slots"
--- @include "../caller/includes/lists"

local base = recordArgsEnd()
local id, limit, idem, body, owned = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3] == '1', ARGV[base + 4], ARGV[base + 5] == '1'
if idem then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    local first = redis.call('GET', KEYS[5])
    if first and body ~= '' and first ~= body then return {'mismatch', existing} end
    return {'replay', existing}
  end
end
if owned then
  local max, active = callerSlots(KEYS[6])
  if max and active >= max then return {'busy', tostring(max), tostring(active)} end
end
writeRecord()
redis.call('LPUSH', KEYS[3], id)
redis.call('LTRIM', KEYS[3], 0, limit - 1)
if idem then
  redis.call('SET', KEYS[4], id, 'EX', ARGV[1])
  if body ~= '' then redis.call('SET', KEYS[5], body, 'EX', ARGV[1]) end
end
if owned then
  callerTake(KEYS[6], 1)
  callerListConversation(KEYS[7], id, limit)
end
return {'created', id}
