--[[
  Creates a run's conversation (its admission, which a sweep may repeat after a crash) only when
  absent: the same write as conversation/create.lua, without the latest list.

  KEYS[1] conversation hash
  KEYS[2] steps hash
  ARGV[1..3+nc+ns] the record, as in conversation/create.lua (ttl, nc, ns, conversation…, steps…)
  Returns false (nil) when created, else the existing record's status.
]]
--- @include "../includes/write-record"

local s = redis.call('HGET', KEYS[1], 'status')
if s then return s end
writeRecord()
return false
