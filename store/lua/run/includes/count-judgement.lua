--[[
  Include, owned by the run store (store/run-store.ts, which reads the summary with
  runJudgeSummary): runJudged(k, status, scores) counts a conversation's first judgement in its
  run's summary: `j:<status>`, and per criterion of the scores (JSON) `js:<c>:<score>` and the sum
  `jsum:<c>`. The judge store's save includes it, so the run's fields are written by run code only.
  Uses its arguments only: k is the run's hash (one of the including script's KEYS).
  Returns nothing.
]]
local function runJudged(k, status, scores)
  redis.call('HINCRBY', k, 'j:' .. status, 1)
  if scores then
    for c, v in pairs(cjson.decode(scores)) do
      redis.call('HINCRBY', k, 'js:' .. c .. ':' .. tostring(v), 1)
      redis.call('HINCRBYFLOAT', k, 'jsum:' .. c, v)
    end
  end
end
