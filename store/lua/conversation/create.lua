--[[
  Creates a conversation's record (no owner, no Idempotency-Key): both hashes and the latest list
  in one round trip. Scripts rather than MULTI: ioredis builds every MULTI as a Pipeline that
  copies each script defined on the connection, and BullMQ defines dozens.

  KEYS[1] conversation hash   <prefix>:conv:{<id>}
  KEYS[2] steps hash          <prefix>:conv:{<id>}:turns
  KEYS[3] latest list         <prefix>:latest
  ARGV[1] ttl s
  ARGV[2] number of conversation field/value args (nc)
  ARGV[3] number of steps field/value args (ns)
  ARGV[4..3+nc] the conversation hash's field/values
  ARGV[4+nc..3+nc+ns] the steps hash's field/values
  ARGV[4+nc+ns] the conversation id (pushed on the latest list)
  ARGV[5+nc+ns] how many ids the latest list keeps
  Returns nothing (nil).
]]
--- @include "../includes/write-record"

local last = writeRecord()
redis.call('LPUSH', KEYS[3], ARGV[last + 1])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[last + 2]) - 1)
