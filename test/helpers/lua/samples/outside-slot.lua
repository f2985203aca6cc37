-- Builds a key name from one of its KEYS without its `{hash tag}`: another slot, refused by a cluster.
return redis.call('GET', (string.gsub(KEYS[1], '[{}]', '')))
