-- Builds a key name from one of its KEYS that keeps the `{hash tag}`: the same slot, allowed on a cluster.
return redis.call('GET', KEYS[1] .. '-elsewhere')
