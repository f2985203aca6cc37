--[[
  Include: holderOf(key, field) is how a script names a key it only learns from data it reads
  (a conversation's run, its owner), without building the key's name itself: the caller declares
  the key in KEYS and states in ARGV which holder it meant, and the script compares.
  Uses nothing but its arguments.
  Returns '' when the hash has no such field, else '=' .. the value (so an empty value is not
  mistaken for none).
]]
local function holderOf(key, field)
  local v = redis.call('HGET', key, field)
  if v then return '=' .. v end
  return ''
end
