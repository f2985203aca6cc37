--[[
  Test only (test/integration/compose-rig.test.ts): the active jobs of the given BullMQ queues
  with the worker holding each (`pb`). Reads BullMQ's own keys, whose names depend on the job ids
  it finds (`<prefix>:<queue>:active`, `<prefix>:<queue>:<id>`), so they are built here from the
  prefix: undeclared, fine for the rig's single Redis, not for a Cluster.

  KEYS[1] the BullMQ prefix (not a key itself)
  ARGV[1..] queue names
  Returns {'<queue>:<id> <pb>', …}.
]]
local out = {}
for _, q in ipairs(ARGV) do
  for _, id in ipairs(redis.call('LRANGE', KEYS[1] .. ':' .. q .. ':active', 0, -1)) do
    local pb = redis.call('HGET', KEYS[1] .. ':' .. q .. ':' .. id, 'pb')
    if pb then table.insert(out, q .. ':' .. id .. ' ' .. pb) end
  end
end
return out
