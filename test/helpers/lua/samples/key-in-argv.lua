-- Deletes a key it was handed in ARGV, through pcall (the check refuses it).
return redis.pcall('DEL', KEYS[1], ARGV[1])
