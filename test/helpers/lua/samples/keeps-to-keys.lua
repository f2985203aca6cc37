-- Keeps to its KEYS (the check passes it).
redis.call('HSET', KEYS[1], 'a', 1)
return redis.call('HGET', KEYS[1], 'a')
