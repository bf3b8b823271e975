-- Cancel a job that waits in its queue, the scheduled set or the deferred set: take it out
-- and record it in the canceled registry as one step, so that a worker cannot start it in
-- between. Returns 0 if the job was in none of those places (running or done).
--
-- KEYS[1] job hash
-- KEYS[2] queue list
-- KEYS[3] scheduled registry
-- KEYS[4] deferred registry
-- KEYS[5] canceled registry
-- ARGV[1] job id
-- ARGV[2] now, epoch milliseconds
-- ARGV[3] seconds to keep the canceled job, -1 to keep it
if redis.call('LREM', KEYS[2], 0, ARGV[1]) == 0 and
    redis.call('ZREM', KEYS[3], ARGV[1]) == 0 and
    redis.call('ZREM', KEYS[4], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'ended_ms', ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[5], tonumber(ARGV[2]) + ttl * 1000, ARGV[1])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[5], '+inf', ARGV[1])
end
return 1
