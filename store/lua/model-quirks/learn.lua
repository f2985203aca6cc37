--[[
  Merges newly learned parameters into a model's list in one step (two workers learning at once
  lose nothing); a model not yet known is not added once the hash holds the most models kept.

  KEYS[1] the learned facts   <prefix>:model-quirks (hash: model id → JSON list of parameters)
  ARGV[1] model id
  ARGV[2] most models kept (MAX_QUIRK_MODELS)
  ARGV[3..] the parameters it rejects
  Returns how many parameters were new (0 also when the model was not kept).
]]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
local list = cur and cjson.decode(cur) or {}
local seen = {}
for _, p in ipairs(list) do seen[p] = true end
local added = 0
for i = 3, #ARGV do
  if not seen[ARGV[i]] then table.insert(list, ARGV[i]); seen[ARGV[i]] = true; added = added + 1 end
end
if added > 0 then redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(list)) end
return added
