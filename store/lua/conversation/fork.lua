--[[
  Creates a fork of a conversation (POST /conversation/:id/fork, a run's `branches`) in one step:
  the fork's record with the parent's turns 1..atTurn-1 already in its steps hash (copied, never
  asked again: the caller read them from the parent and re-encoded them for the fork's own record,
  they are part of the steps field/values), its entry in the parent's forks index, and, as
  conversation/create-checked.lua does, the Idempotency-Key and the owner's slot and lists.
   - a known Idempotency-Key answers the first fork's id ('replay'), 'mismatch' for another body;
   - a fork id that exists already (a deterministic id asked again) answers 'replay' too;
   - a parent whose record is gone answers 'gone' (it expired between the read and this write);
   - an owner at its `maxActive` gets 'busy' with the limit and the count.

  KEYS[1] the fork's conversation hash   <prefix>:conv:{<id>}
  KEYS[2] the fork's steps hash          <prefix>:conv:{<id>}:turns
  KEYS[3] latest list
  KEYS[4] idempotency key (KEYS[1] again without one)
  KEYS[5] its body hash (KEYS[1] again without one)
  KEYS[6] the owner's caller hash (KEYS[1] again without an owner)
  KEYS[7] the owner's latest list (KEYS[1] again without an owner)
  KEYS[8] the parent's conversation hash
  KEYS[9] the parent's forks index       <prefix>:conv:{<parent>}:forks (zset: fork id, score atTurn)
  ARGV[1..3+nc+ns] the record, as in conversation/create.lua (ttl, nc, ns, conversation…, steps…)
  ARGV[4+nc+ns] the fork's id
  ARGV[5+nc+ns] how many ids the latest lists keep
  ARGV[6+nc+ns] '1' with an Idempotency-Key, else ''
  ARGV[7+nc+ns] the SHA-256 of the request's canonical body ('' none)
  ARGV[8+nc+ns] '1' with an owner, else ''
  ARGV[9+nc+ns] atTurn (the index's score)
  ARGV[10+nc+ns] '1' with an archive (ARCHIVE_URL): the index keeps the parent record's expiry, else ''
  Returns {'created', id} | {'replay', first id} | {'mismatch', first id} | {'busy', maxActive, active} | {'gone'}.
]]
--- @include "../includes/write-record"
--- @include "../caller/includes/slots"
--- @include "../caller/includes/lists"

local base = recordArgsEnd()
local id, limit, idem, body, owned = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3] == '1', ARGV[base + 4], ARGV[base + 5] == '1'
local atTurn = ARGV[base + 6]
if idem then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    local first = redis.call('GET', KEYS[5])
    if first and body ~= '' and first ~= body then return {'mismatch', existing} end
    return {'replay', existing}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'replay', id} end
if redis.call('EXISTS', KEYS[8]) == 0 then return {'gone'} end
if owned then
  local max, active = callerSlots(KEYS[6])
  if max and active >= max then return {'busy', tostring(max), tostring(active)} end
end
writeRecord()
redis.call('LPUSH', KEYS[3], id)
redis.call('LTRIM', KEYS[3], 0, limit - 1)
redis.call('ZADD', KEYS[9], atTurn, id)
local ttl = tonumber(ARGV[1])
local parentTtl = redis.call('TTL', KEYS[8])
if ARGV[base + 7] == '1' and parentTtl > 0 then
  -- With an archive the index follows its parent's record (archived: its short grace); the archive
  -- keeps the links (archive_forks), and a fork archived later adds its own.
  redis.call('EXPIRE', KEYS[9], parentTtl)
elseif redis.call('TTL', KEYS[9]) < ttl then
  -- Without one, the index lives as long as its longest-lived fork (the parent may expire first).
  redis.call('EXPIRE', KEYS[9], ttl)
end
if idem then
  redis.call('SET', KEYS[4], id, 'EX', ARGV[1])
  if body ~= '' then redis.call('SET', KEYS[5], body, 'EX', ARGV[1]) end
end
if owned then
  callerTake(KEYS[6], 1)
  callerListConversation(KEYS[7], id, limit)
end
return {'created', id}
