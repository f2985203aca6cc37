-- Builds a key name from one of its KEYS (the check refuses it).
return redis.call('HGET', KEYS[1] .. ':other', 'a')
