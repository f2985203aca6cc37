-- A test's prelude to every store script (store/redis-script.ts setScriptPrelude;
-- test/integration/store/declared-keys.test.ts): each redis.call / redis.pcall the script makes
-- is checked, by the server's own COMMAND GETKEYS, against the script's KEYS, and a key it was
-- not given fails the script, as Redis Cluster would. `redis` is shadowed by a local, so the
-- script and every include in it see the checked one.
local declaredKeys = {}
for _, k in ipairs(KEYS) do declaredKeys[k] = true end
local realRedis = redis
local function checkDeclared(cmd, ...)
  local keys = realRedis.pcall('COMMAND', 'GETKEYS', cmd, ...)
  if type(keys) ~= 'table' or keys.err then return end
  for _, k in ipairs(keys) do
    if not declaredKeys[k] then
      error(realRedis.error_reply('UNDECLARED ' .. cmd .. ' ' .. k .. ' is not one of the KEYS the script was given'))
    end
  end
end
local redis = setmetatable({
  call = function(cmd, ...) checkDeclared(cmd, ...) return realRedis.call(cmd, ...) end,
  pcall = function(cmd, ...) checkDeclared(cmd, ...) return realRedis.pcall(cmd, ...) end,
}, { __index = realRedis })
