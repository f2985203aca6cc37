--[[
  Test only (test/integration/compose-rig.test.ts): the worker holding each job (`pb`) and its
  stalled count (`stc`). The job hashes' names are built from the prefix (undeclared, fine for the
  rig's single Redis, not for a Cluster).

  KEYS[1] the BullMQ prefix (not a key itself)
  ARGV[1..] '<queue>:<job id>' of each job
  Returns {'<pb or -> <stc>' or 'gone 0', …} in ARGV's order.
]]
local out = {}
for _, j in ipairs(ARGV) do
  local k = KEYS[1] .. ':' .. j
  if redis.call('EXISTS', k) == 1 then
    table.insert(out, (redis.call('HGET', k, 'pb') or '-') .. ' ' .. (redis.call('HGET', k, 'stc') or '0'))
  else
    table.insert(out, 'gone 0')
  end
end
return out
