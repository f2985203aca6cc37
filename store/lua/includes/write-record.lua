--[[
  Include: writeRecord() writes a conversation's two hashes, each with the TTL, from the argument
  layout every create script shares (store/conversation-store.ts).
  Uses KEYS[1] the conversation hash, KEYS[2] its steps hash;
       ARGV[1] ttl s, ARGV[2] number of conversation field/value args, ARGV[3] number of steps
       field/value args, then the conversation's field/values, then the steps' field/values.
  Returns the index of the last steps argument (a script's own arguments follow it).
]]
local function recordArgsEnd()
  return 3 + tonumber(ARGV[2]) + tonumber(ARGV[3])
end

local function writeRecord()
  local nc, ns = tonumber(ARGV[2]), tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + nc))
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  redis.call('HSET', KEYS[2], unpack(ARGV, 4 + nc, 3 + nc + ns))
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  return 3 + nc + ns
end
