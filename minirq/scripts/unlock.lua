-- Release a lock only if it is still the caller's, as one step: between a GET and a DEL
-- the lock may expire and be taken by another process, whose lock a DEL would break.
--
-- KEYS[1] the lock
-- ARGV[1] the caller's token
-- Returns 1 if released, 0 if the lock was not (or no longer) the caller's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
